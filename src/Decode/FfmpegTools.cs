using VideoSsl.Engine;

namespace VideoSsl.Decode;

/// <summary>Finds the FFmpeg programs once and says clearly what to do when they are missing.</summary>
public static class FfmpegTools
{
    private static readonly Lazy<string?> Missing = new(FindMissing);

    public static void EnsureInstalled()
    {
        if (Missing.Value is { } tool)
            throw new UserError($"{tool} was not found on PATH: {Platform.FfmpegInstallHint}");
    }

    private static string? FindMissing()
    {
        string[] folders = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries);
        foreach (string tool in new[] { "ffmpeg", "ffprobe" })
            if (!folders.Any(f => File.Exists(Path.Combine(f, Platform.Executable(tool)))))
                return tool;
        return null;
    }
}
