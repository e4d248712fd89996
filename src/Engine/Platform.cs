namespace VideoSsl.Engine;

/// <summary>
/// Everything that differs between operating systems, in one place: tool names and install hints.
/// </summary>
public static class Platform
{
    public static bool IsWindows => OperatingSystem.IsWindows();

    /// <summary>How a user installs FFmpeg on this operating system, for error messages.</summary>
    public static string FfmpegInstallHint =>
        OperatingSystem.IsWindows() ? "install it with 'winget install Gyan.FFmpeg' and reopen the terminal"
        : OperatingSystem.IsMacOS() ? "install it with 'brew install ffmpeg'"
        : "install it with 'sudo apt-get install ffmpeg' (or run scripts/setup)";

    /// <summary>The name of an executable on this operating system.</summary>
    public static string Executable(string name) => OperatingSystem.IsWindows() ? name + ".exe" : name;
}
