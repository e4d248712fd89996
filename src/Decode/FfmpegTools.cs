using System.Diagnostics;
using System.Text;
using FFMpegCore;
using VideoSsl.Engine;

namespace VideoSsl.Decode;

/// <summary>
/// Finds the FFmpeg programs once, says clearly what to do when they are missing, and starts every ffmpeg the
/// program runs. On Linux each ffmpeg is started through a guard: a watcher beside it kills it if this program dies
/// in any way, SIGKILL included. Without it an ffmpeg blocked on a silent network input would keep running forever
/// after its parent is gone (ffmpeg only notices a dead parent when it next writes a frame).
///
/// The guard is a script handed to the system shell as an argument (<c>/bin/sh -c SCRIPT</c>), never a file:
/// nothing is written anywhere and executed from there, so no other user of the machine can swap in a program of
/// their own (a guard written to a shared temporary folder could be replaced between writing and running it).
/// </summary>
public static class FfmpegTools
{
    private const string Shell = "/bin/sh";
    private static readonly Lazy<(string? Ffmpeg, string? Missing)> Found = new(Configure);

    /// <summary>The real ffmpeg on PATH.</summary>
    public static string FfmpegPath
    {
        get
        {
            EnsureInstalled();
            return Found.Value.Ffmpeg!;
        }
    }

    public static void EnsureInstalled()
    {
        if (Found.Value.Missing is { } tool)
            throw new UserError($"{tool} was not found on PATH: {Platform.FfmpegInstallHint}");
    }

    /// <summary>Full path of a tool on PATH, or null.</summary>
    public static string? Find(string tool)
    {
        string[] folders = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return folders.Select(f => Path.Combine(f, Platform.Executable(tool))).FirstOrDefault(File.Exists);
    }

    /// <summary>How to start ffmpeg with an argument string as FFMpegCore builds it (guarded where the guard runs).</summary>
    public static ProcessStartInfo StartInfo(string arguments)
    {
        string ffmpeg = FfmpegPath;
        if (!Guarded) return new ProcessStartInfo(ffmpeg, arguments);
        var prefix = new StringBuilder("-c ");
        foreach (string word in (string[])[GuardScript, "videossl-ffmpeg-guard", ffmpeg]) prefix.Append(Quote(word)).Append(' ');
        return new ProcessStartInfo(Shell, prefix + arguments);
    }

    /// <summary>How to start ffmpeg with a list of arguments (guarded where the guard runs).</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> arguments)
    {
        string ffmpeg = FfmpegPath;
        var start = new ProcessStartInfo(Guarded ? Shell : ffmpeg);
        if (Guarded) foreach (string word in (string[])["-c", GuardScript, "videossl-ffmpeg-guard", ffmpeg]) start.ArgumentList.Add(word);
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        return start;
    }

    /// <summary>
    /// A file's FFmpeg runs below normal priority (nice 10 on Linux): at equal priority it preempted the trainer's
    /// threads in the middle of operations, and LibTorch's other threads then waited for the preempted one at the
    /// end of each. Below normal, it decodes in the trainer's gaps and whenever the trainer waits for a batch (README,
    /// *Speed*). Nothing is lost: a file's frames wait in the pipe.
    /// Live sources keep normal priority, since a live frame that is not read in time is dropped.
    /// </summary>
    public static void Yield(Process process)
    {
        try
        {
            process.PriorityClass = ProcessPriorityClass.BelowNormal;
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // already exited, or not allowed: it decodes at normal priority
        }
    }

    /// <summary>Ends an FFmpeg (and its guard) at once, whether or not it still runs.</summary>
    public static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // already gone
        }
    }

    private static bool Guarded => Platform.HasProcFileSystem && File.Exists(Shell);

    /// <summary>
    /// Run as <c>sh -c GUARD videossl-ffmpeg-guard FFMPEG ARGS...</c>: starts the watcher, then becomes ffmpeg (exec, same
    /// PID). The watcher is a small shell of its own ("videossl-ffmpeg-watch" in ps), polling once a second: while
    /// VideoSsl lives it waits; once VideoSsl is gone it kills the ffmpeg, but only if that PID still runs ffmpeg.
    /// </summary>
    private const string GuardScript = """
        /bin/sh -c '
          trap "" INT TERM HUP
          alive() { case "$(tr "\0" " " < /proc/$2/cmdline 2>/dev/null)" in "$3 "*) return 0 ;; *) return 1 ;; esac; }
          while sleep 1; kill -0 "$1" 2>/dev/null; do alive "$@" || exit 0; done
          alive "$@" && kill -KILL "$2"
        ' videossl-ffmpeg-watch "$PPID" "$$" "$1" </dev/null >/dev/null 2>&1 &
        exec "$@"
        """;

    /// <summary>
    /// One argument as .NET splits a command line back into arguments (the same rules on every OS): plain words as
    /// they are, anything else in double quotes with quotes and the backslashes before them escaped.
    /// </summary>
    public static string Quote(string argument)
    {
        if (argument.Length > 0 && argument.IndexOfAny([' ', '\t', '\n', '\r', '"', '\\']) < 0) return argument;
        var quoted = new StringBuilder("\"");
        int backslashes = 0;
        foreach (char c in argument)
        {
            if (c == '\\')
            {
                backslashes++;
                continue;
            }
            quoted.Append('\\', c == '"' ? 2 * backslashes + 1 : backslashes).Append(c);
            backslashes = 0;
        }
        return quoted.Append('\\', 2 * backslashes).Append('"').ToString();
    }

    private static (string?, string?) Configure()
    {
        string? ffmpeg = Find("ffmpeg");
        string? ffprobe = Find("ffprobe");
        if (ffmpeg is null) return (null, "ffmpeg");
        if (ffprobe is null) return (null, "ffprobe");
        // FFMpegCore starts ffprobe itself, from the folder it is in; ffmpeg is started by StartInfo.
        GlobalFFOptions.Configure(options => options.BinaryFolder = Path.GetDirectoryName(ffprobe)!);
        return (ffmpeg, null);
    }
}
