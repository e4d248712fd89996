using System.Text.RegularExpressions;
using Silk.NET.OpenGL;
using VideoSsl.Engine;

namespace VideoSsl.Rendering.Gl;

/// <summary>
/// The overlay's GLSL programs, read from a folder (overlay.vert + one fragment shader each, with one level of
/// <c>#include "file"</c>) and rebuilt when a file changes. A program that fails to build on reload keeps the old
/// one and its error is shown in <see cref="Error"/>; at start, a failure is an error of the run.
/// </summary>
public sealed partial class ShaderLibrary : IDisposable
{
    public const string VertexShader = "overlay.vert";
    public static readonly string[] Programs = ["frame", "scalar", "solid", "text"];

    private readonly GL _gl;
    private readonly Dictionary<string, uint> _programs = [];
    private readonly Dictionary<(uint, string), int> _uniforms = [];
    private DateTime _newestFile;
    private long _nextCheck;

    public ShaderLibrary(GL gl, string directory)
    {
        _gl = gl;
        Directory = directory;
        _newestFile = NewestWrite();
        foreach (var name in Programs)
        {
            _programs[name] = Build(name, out string? error)
                ?? throw new UserError($"shaders '{directory}': {error}");
        }
    }

    public string Directory { get; }

    /// <summary>The last reload's build error, until a reload succeeds.</summary>
    public string? Error { get; private set; }

    /// <summary>Times the programs were rebuilt after a change.</summary>
    public int Reloads { get; private set; }

    public uint this[string program] => _programs[program];

    public int Uniform(uint program, string name)
    {
        if (!_uniforms.TryGetValue((program, name), out int location))
            _uniforms[(program, name)] = location = _gl.GetUniformLocation(program, name);
        return location;
    }

    /// <summary>Rebuilds every program when a file in the folder changed (checked at most twice a second).</summary>
    public void ReloadIfChanged()
    {
        long now = Environment.TickCount64;
        if (now < _nextCheck) return;
        _nextCheck = now + 500;
        var newest = NewestWrite();
        if (newest <= _newestFile) return;
        _newestFile = newest;
        var built = new Dictionary<string, uint>();
        foreach (var name in Programs)
        {
            if (Build(name, out string? error) is { } program)
            {
                built[name] = program;
                continue;
            }
            foreach (var made in built.Values) _gl.DeleteProgram(made);
            Error = error;
            return;
        }
        foreach (var (name, program) in built)
        {
            _gl.DeleteProgram(_programs[name]);
            _programs[name] = program;
        }
        _uniforms.Clear();
        Error = null;
        Reloads++;
    }

    private DateTime NewestWrite()
    {
        try
        {
            return new DirectoryInfo(Directory).EnumerateFiles().Select(f => f.LastWriteTimeUtc).DefaultIfEmpty().Max();
        }
        catch (IOException)
        {
            return DateTime.MinValue;
        }
    }

    private uint? Build(string name, out string? error)
    {
        string fragmentFile = name + ".frag";
        uint vertex = 0, fragment = 0;
        try
        {
            vertex = Compile(ShaderType.VertexShader, VertexShader, out error);
            if (vertex == 0) return null;
            fragment = Compile(ShaderType.FragmentShader, fragmentFile, out error);
            if (fragment == 0) return null;
            uint program = _gl.CreateProgram();
            _gl.AttachShader(program, vertex);
            _gl.AttachShader(program, fragment);
            _gl.LinkProgram(program);
            _gl.GetProgram(program, ProgramPropertyARB.LinkStatus, out int linked);
            if (linked == 0)
            {
                error = $"{fragmentFile}: link failed: {FirstLine(_gl.GetProgramInfoLog(program))}";
                _gl.DeleteProgram(program);
                return null;
            }
            error = null;
            return program;
        }
        finally
        {
            if (vertex != 0) _gl.DeleteShader(vertex);
            if (fragment != 0) _gl.DeleteShader(fragment);
        }
    }

    private uint Compile(ShaderType type, string file, out string? error)
    {
        string source;
        try
        {
            source = Expand(file);
        }
        catch (IOException e)
        {
            error = $"{file}: cannot be read ({e.Message})";
            return 0;
        }
        uint shader = _gl.CreateShader(type);
        _gl.ShaderSource(shader, source);
        _gl.CompileShader(shader);
        _gl.GetShader(shader, ShaderParameterName.CompileStatus, out int compiled);
        if (compiled != 0)
        {
            error = null;
            return shader;
        }
        error = $"{file}: {FirstLine(_gl.GetShaderInfoLog(shader))}";
        _gl.DeleteShader(shader);
        return 0;
    }

    private string Expand(string file) =>
        Include().Replace(File.ReadAllText(Path.Combine(Directory, file)), m => File.ReadAllText(Path.Combine(Directory, m.Groups[1].Value)));

    private static string FirstLine(string log) => log.Split('\n', StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.Trim() ?? "no log";

    [GeneratedRegex("""^[ \t]*#include[ \t]+"([^"/\\]+)"[ \t]*$""", RegexOptions.Multiline)]
    private static partial Regex Include();

    /// <summary>The repository's shaders/ when running from a checkout (so edits show at once), else the copy beside the program.</summary>
    public static string FindDefault() =>
        Checkout.Root is { } root && File.Exists(Path.Combine(root, "shaders", VertexShader))
            ? Path.Combine(root, "shaders")
            : Path.Combine(AppContext.BaseDirectory, "shaders");

    public void Dispose()
    {
        foreach (var program in _programs.Values) _gl.DeleteProgram(program);
        _programs.Clear();
    }
}
