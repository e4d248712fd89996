using System.IO.Pipes;
using System.Runtime.InteropServices;

namespace VideoSsl.Engine;

/// <summary>
/// Everything that differs between operating systems, in one place: tool names, install hints, camera input.
/// </summary>
public static partial class Platform
{
    /// <summary>How a user installs FFmpeg on this operating system, for error messages.</summary>
    public static string FfmpegInstallHint =>
        OperatingSystem.IsWindows() ? "install it with 'winget install Gyan.FFmpeg' and reopen the terminal"
        : OperatingSystem.IsMacOS() ? "install it with 'brew install ffmpeg'"
        : "install it with 'sudo apt-get install ffmpeg' (or run scripts/setup)";

    /// <summary>The name of an executable on this operating system.</summary>
    public static string Executable(string name) => OperatingSystem.IsWindows() ? name + ".exe" : name;

    /// <summary>FFmpeg's capture input format for cameras: v4l2 (Linux), dshow (Windows), avfoundation (macOS).</summary>
    public static string CameraFormat =>
        OperatingSystem.IsWindows() ? "dshow" : OperatingSystem.IsMacOS() ? "avfoundation" : "v4l2";

    /// <summary>
    /// The -i argument for a camera: a device node on Linux (default /dev/video0), "video=NAME" on Windows, an index
    /// on macOS (default 0).
    /// </summary>
    public static string CameraInput(string device) =>
        OperatingSystem.IsWindows() ? (device.StartsWith("video=", StringComparison.Ordinal) ? device : $"video={device}")
        : OperatingSystem.IsMacOS() ? (device.Length == 0 ? "0" : device)
        : (device.Length == 0 ? "/dev/video0" : device);

    /// <summary>True where the FFmpeg child-process guard (a /proc-based watcher) can run.</summary>
    [System.Runtime.Versioning.SupportedOSPlatformGuard("linux")]
    public static bool HasProcFileSystem => OperatingSystem.IsLinux() && Directory.Exists("/proc/self");

    /// <summary>GLFW 3's library name or path (the window path of the overlay); VIDEOSSL_GLFW_LIBRARY overrides it.</summary>
    public static string GlfwLibrary => Override("VIDEOSSL_GLFW_LIBRARY") ??
        (OperatingSystem.IsWindows() ? "glfw3.dll" : OperatingSystem.IsMacOS() ? "libglfw.3.dylib" : "libglfw.so.3");

    /// <summary>
    /// EGL's library name or path (the headless path; VIDEOSSL_EGL_LIBRARY overrides it, e.g. a vendor's own), or
    /// null where EGL is not the platform's way (Windows, macOS).
    /// </summary>
    public static string? EglLibrary => Override("VIDEOSSL_EGL_LIBRARY") ?? (OperatingSystem.IsLinux() ? "libEGL.so.1" : null);

    private static string? Override(string variable) => Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value ? value : null;

    /// <summary>Loaded before GLFW starts: glfwTerminate would otherwise unload glvnd's dispatch library, and the process crash at exit.</summary>
    public static string? GlDispatchLibrary => OperatingSystem.IsLinux() ? "libGLdispatch.so.0" : null;

    /// <summary>Whether a window can be shown: always on Windows and macOS, on Linux when an X display is named.</summary>
    public static bool HasDisplay =>
        !OperatingSystem.IsLinux() || !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DISPLAY"));

    /// <summary>How a user gets GLFW and EGL, for error messages.</summary>
    public static string GraphicsInstallHint =>
        OperatingSystem.IsWindows() ? "put glfw3.dll (from glfw.org, 64-bit) next to videossl.exe or on PATH"
        : OperatingSystem.IsMacOS() ? "install it with 'brew install glfw'"
        : "install it with 'sudo apt-get install libglfw3 libegl1 libegl-mesa0 libgl1-mesa-dri' (or run scripts/setup)";

    /// <summary>
    /// The file of the GNU OpenMP runtime LibTorch loaded into this process (its CPU builds for Linux ship one under a
    /// hashed name, PyTorch's wheels another), found in /proc/self/maps; null elsewhere or when none is loaded.
    /// Windows' LibTorch uses another OpenMP runtime, which the fused kernels do not call.
    /// </summary>
    public static string? LoadedGnuOpenMpLibrary()
    {
        if (!HasProcFileSystem) return null;
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            int path = line.IndexOf('/');
            if (path >= 0 && Path.GetFileName(line.AsSpan(path)).StartsWith("libgomp", StringComparison.Ordinal)) return line[path..];
        }
        return null;
    }

    /// <summary>
    /// Widens a pipe's kernel buffer (Linux: 64 KiB by default, two 96 px frames) so that FFmpeg writes a burst of
    /// frames before it blocks and the reader wakes once per burst rather than once per frame or two. Best effort:
    /// elsewhere, or past the system's limit, the pipe keeps its size.
    /// </summary>
    public static void WidenPipe(Stream stream, int bytes) => PipeControl(stream, 1031 /* F_SETPIPE_SZ */, bytes);

    /// <summary>A pipe's kernel buffer in bytes; null where that cannot be asked.</summary>
    public static int? PipeBytes(Stream stream) => PipeControl(stream, 1032 /* F_GETPIPE_SZ */, 0) is > 0 and var bytes ? bytes : null;

    private static int PipeControl(Stream stream, int command, int argument)
    {
        if (!OperatingSystem.IsLinux() || stream is not PipeStream pipe) return -1;
        bool added = false;
        try
        {
            pipe.SafePipeHandle.DangerousAddRef(ref added);
            return Fcntl((int)pipe.SafePipeHandle.DangerousGetHandle(), command, argument);
        }
        finally
        {
            if (added) pipe.SafePipeHandle.DangerousRelease();
        }
    }

    [LibraryImport("libc", EntryPoint = "fcntl")]
    private static partial int Fcntl(int descriptor, int command, int argument);
}

public static partial class Platform
{
    /// <summary>
    /// The path with every link resolved and no <c>.</c> or <c>..</c> left (realpath on Linux and macOS); where that
    /// cannot be asked, the full path with its final link resolved.
    /// </summary>
    public static string RealPath(string path)
    {
        if (!OperatingSystem.IsWindows())
        {
            // A buffer of our own (PATH_MAX): memory realpath allocated would have to be freed by the allocator it came
            // from, which under a preloaded jemalloc is not the C library's free.
            nint buffer = Marshal.AllocHGlobal(4096);
            try
            {
                if (RealPathNative(path, buffer) != 0) return Marshal.PtrToStringUTF8(buffer)!;
            }
            finally
            {
                Marshal.FreeHGlobal(buffer);
            }
        }
        string full = Path.GetFullPath(path);
        try
        {
            FileSystemInfo info = Directory.Exists(full) ? new DirectoryInfo(full) : new FileInfo(full);
            return info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? full;
        }
        catch (IOException)
        {
            return full;
        }
    }

    [LibraryImport("libc", EntryPoint = "realpath", StringMarshalling = StringMarshalling.Utf8)]
    private static partial nint RealPathNative(string path, nint resolved);

    /// <summary>
    /// The share mode that makes a file a lock only one process holds. .NET turns FileShare.None into flock(LOCK_EX) on
    /// Linux and macOS, which a crashed process releases; on Windows a reader must still be let in to read the PID.
    /// </summary>
    public static FileShare ExclusiveLockShare => OperatingSystem.IsWindows() ? FileShare.Read : FileShare.None;

    /// <summary>
    /// Reads a small text file another process holds locked. .NET takes flock(LOCK_SH) on every file it opens on Linux
    /// and macOS, which a holder's LOCK_EX refuses, so there the file is opened with the C library alone; null if unreadable.
    /// </summary>
    public static string? ReadLockedText(string path)
    {
        try
        {
            if (OperatingSystem.IsWindows()) return File.ReadAllText(path);
            int descriptor = Open(path, OperatingSystem.IsLinux() ? 0x80000 /* O_RDONLY | O_CLOEXEC */ : 0);
            if (descriptor < 0) return null;
            using var handle = new Microsoft.Win32.SafeHandles.SafeFileHandle(descriptor, ownsHandle: true);
            var buffer = new byte[256];
            int read = RandomAccess.Read(handle, buffer, 0);
            return System.Text.Encoding.UTF8.GetString(buffer, 0, read);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);
}

/// <summary>A rectangle of the screen: its size and its top left corner, in pixels.</summary>
public sealed record ScreenRegion(int Width, int Height, int X, int Y);

public static partial class Platform
{
    /// <summary>Why the screen cannot be captured here, or null when it can.</summary>
    public static string? ScreenUnavailable()
    {
        if (!OperatingSystem.IsLinux()) return null;
        if (!string.IsNullOrEmpty(Environment.GetEnvironmentVariable("DISPLAY"))) return null;
        return string.IsNullOrEmpty(Environment.GetEnvironmentVariable("WAYLAND_DISPLAY"))
            ? "no display to capture (DISPLAY is not set)"
            : "this is a Wayland session without an X display (DISPLAY is not set); screen capture needs X11, e.g. XWayland";
    }

    /// <summary>What <c>devices</c> says about the screen.</summary>
    public static string ScreenDescription =>
        OperatingSystem.IsWindows() ? "the desktop (gdigrab)"
        : OperatingSystem.IsMacOS() ? "screen 0 (avfoundation)"
        : $"X display {Environment.GetEnvironmentVariable("DISPLAY")} (x11grab)";

    /// <summary>
    /// FFmpeg's screen grabber here: its input format, input and options (x11grab on Linux, gdigrab on Windows,
    /// avfoundation on macOS, which grabs the whole of screen 0 whatever the region; untested there).
    /// </summary>
    public static (string Format, string Input, string Options) ScreenCapture(ScreenRegion? region, double rate)
    {
        string framerate = "-framerate " + rate.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
        if (OperatingSystem.IsWindows())
            return ("gdigrab", "desktop", region is { } r
                ? $"{framerate} -offset_x {r.X} -offset_y {r.Y} -video_size {r.Width}x{r.Height}"
                : framerate);
        if (OperatingSystem.IsMacOS())
            return ("avfoundation", "Capture screen 0:none", $"{framerate} -capture_cursor 1");
        string display = Environment.GetEnvironmentVariable("DISPLAY") ?? ":0";
        return region is { } area
            ? ("x11grab", $"{display}+{area.X},{area.Y}", $"{framerate} -video_size {area.Width}x{area.Height}")
            : ("x11grab", display, framerate);
    }
}
