using System.Runtime.InteropServices;
using Silk.NET.OpenGL;
using VideoSsl.Engine;
using VideoSsl.Messages.Overlay;
using VideoSsl.Rendering.Native;

namespace VideoSsl.Rendering.Surfaces;

/// <summary>A window with an OpenGL 3.3 core context through GLFW 3; it must be opened and used on the main thread.</summary>
public sealed class GlfwSurface : IRenderSurface
{
    private readonly Glfw _glfw;
    private readonly nint _window;

    private GlfwSurface(Glfw glfw, nint window)
    {
        _glfw = glfw;
        _window = window;
        Gl = GL.GetApi(glfw.GetProcAddress);
    }

    public GL Gl { get; }
    public ViewMode Kind => ViewMode.Window;
    public string Route => "GLFW";
    public (int Width, int Height)? ShownSize => _glfw.FramebufferSize(_window);
    public (int Width, int Height)? WindowSize => _glfw.WindowSize(_window);
    public bool CloseRequested => _glfw.ShouldClose(_window);

    public void Present()
    {
        _glfw.SwapBuffers(_window);
        _glfw.PollEvents();
    }

    public IEnumerable<(int Key, (double X, double Y)? Click)> TakeInput()
    {
        var inputs = new List<(int, (double, double)?)>();
        while (_glfw.TryTakeInput(out var input)) inputs.Add(input.Click ? (0, (input.X, input.Y)) : (input.Key, null));
        return inputs;
    }

    public static GlfwSurface Open(int width, int height, string title)
    {
        if (!Platform.HasDisplay) throw new RenderUnavailableException("no display (DISPLAY is not set)");
        if (Platform.GlDispatchLibrary is { } dispatch) NativeLibrary.TryLoad(dispatch, out _);
        Glfw glfw;
        try
        {
            glfw = new Glfw(Platform.GlfwLibrary);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new RenderUnavailableException($"{e.Message}; {Platform.GraphicsInstallHint}");
        }
        if (!glfw.Init(out string? initError)) throw new RenderUnavailableException($"GLFW could not start: {initError ?? "no reason given"}");
        nint window = glfw.CreateWindow(width, height, title, out string? windowError);
        if (window == 0)
        {
            glfw.Terminate();
            throw new RenderUnavailableException($"GLFW could not open an OpenGL 3.3 core window: {windowError ?? "no reason given"}");
        }
        return new GlfwSurface(glfw, window);
    }

    public void Dispose()
    {
        Gl.Dispose();
        _glfw.DestroyWindow(_window);
        _glfw.Terminate();
    }
}
