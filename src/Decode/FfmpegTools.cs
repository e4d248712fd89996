using System.Text;
using FFMpegCore;
using VideoSsl.Engine;

namespace VideoSsl.Decode;

/// <summary>
/// Finds the FFmpeg programs once, says clearly what to do when they are missing, and on Linux points FFMpegCore
/// at a guarded ffmpeg: a small wrapper that starts a watcher beside the real ffmpeg, which kills ffmpeg if this
/// program dies in any way, SIGKILL included. Without it an ffmpeg blocked on a silent network input would keep
/// running forever after its parent is gone (ffmpeg only notices a dead parent when it next writes a frame).
/// </summary>
public static class FfmpegTools
{
    private static readonly Lazy<string?> Missing = new(Configure);

    /// <summary>The ffmpeg to start: the guarded one where the guard runs, else the one on PATH.</summary>
    public static string FfmpegPath
    {
        get
        {
            EnsureInstalled();
            return Path.Combine(GlobalFFOptions.Current.BinaryFolder, Platform.Executable("ffmpeg"));
        }
    }

    public static void EnsureInstalled()
    {
        if (Missing.Value is { } tool)
            throw new UserError($"{tool} was not found on PATH: {Platform.FfmpegInstallHint}");
    }

    /// <summary>Full path of a tool on PATH, or null.</summary>
    public static string? Find(string tool)
    {
        string[] folders = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        return folders.Select(f => Path.Combine(f, Platform.Executable(tool))).FirstOrDefault(File.Exists);
    }

    private static string? Configure()
    {
        string? ffmpeg = Find("ffmpeg");
        string? ffprobe = Find("ffprobe");
        if (ffmpeg is null) return "ffmpeg";
        if (ffprobe is null) return "ffprobe";
        string folder = Platform.HasProcFileSystem ? WriteGuard(ffmpeg, ffprobe) : Path.GetDirectoryName(ffmpeg)!;
        GlobalFFOptions.Configure(options => options.BinaryFolder = folder);
        return null;
    }

    /// <summary>
    /// Writes the guard into a per-user temporary folder (atomically, only when it changed) beside a link to the
    /// real ffprobe, and returns the folder.
    /// </summary>
    [System.Runtime.Versioning.SupportedOSPlatform("linux")]
    private static string WriteGuard(string ffmpeg, string ffprobe)
    {
        string folder = Path.Combine(Path.GetTempPath(), $"videossl-ffmpeg-guard-{Environment.UserName}");
        Directory.CreateDirectory(folder);
        string quoted = "'" + ffmpeg.Replace("'", "'\\''") + "'";
        // The watcher runs as its own small shell ("videossl-ffmpeg-watch" in ps), polling once a second: while
        // VideoSsl lives it waits; once VideoSsl is gone it kills the ffmpeg, but only if that PID still runs ffmpeg.
        string script = $$"""
            #!/bin/sh
            # VideoSsl's guarded ffmpeg: a watcher kills this ffmpeg if VideoSsl (its parent) dies, even by SIGKILL.
            sh -c '
              trap "" INT TERM HUP
              alive() { case "$(tr "\0" " " < /proc/$2/cmdline 2>/dev/null)" in "$3 "*) return 0 ;; *) return 1 ;; esac; }
              while sleep 1; kill -0 "$1" 2>/dev/null; do alive "$@" || exit 0; done
              alive "$@" && kill -KILL "$2"
            ' videossl-ffmpeg-watch "$PPID" "$$" {{quoted}} </dev/null >/dev/null 2>&1 &
            exec {{quoted}} "$@"

            """;
        string target = Path.Combine(folder, "ffmpeg");
        if (!File.Exists(target) || File.ReadAllText(target) != script)
        {
            string temporary = target + $".{Environment.ProcessId}.tmp";
            File.WriteAllText(temporary, script, new UTF8Encoding(false));
            File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            File.Move(temporary, target, overwrite: true);
        }
        string probeLink = Path.Combine(folder, "ffprobe");
        if (new FileInfo(probeLink).LinkTarget != ffprobe)
        {
            string temporary = probeLink + $".{Environment.ProcessId}.tmp";
            File.Delete(temporary);
            File.CreateSymbolicLink(temporary, ffprobe);
            File.Move(temporary, probeLink, overwrite: true);
        }
        return folder;
    }
}
