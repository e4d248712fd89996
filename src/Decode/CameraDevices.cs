using FFMpegCore;
using FFMpegCore.Enums;
using VideoSsl.Decode.Sources;
using VideoSsl.Engine;

namespace VideoSsl.Decode;

/// <summary>Lists cameras: v4l2 device nodes on Linux, FFmpeg's -list_devices on Windows (dshow) and macOS (avfoundation).</summary>
public static class CameraDevices
{
    public static IReadOnlyList<CaptureDevice> List()
    {
        if (OperatingSystem.IsLinux()) return V4l2();
        FfmpegTools.EnsureInstalled();
        var lines = new List<string>();
        FFMpegArguments
            .FromDeviceInput(OperatingSystem.IsWindows() ? "dummy" : "\"\"", o => o
                .ForceFormat(Platform.CameraFormat)
                .WithCustomArgument("-list_devices true"))
            .OutputToFile(OperatingSystem.IsWindows() ? "NUL" : "/dev/null", overwrite: true, o => o.ForceFormat("null"))
            .WithLogLevel(FFMpegLogLevel.Info)
            .NotifyOnStandardError(lines.Add)
            .ProcessSynchronously(throwOnError: false);
        // FFmpeg prints one quoted name per video device, e.g. [dshow @ ...] "Integrated Camera" (video)
        return lines
            .Where(l => l.Contains('"') && (l.Contains("(video)") || l.Contains("AVFoundation video")))
            .Select(l => l[(l.IndexOf('"') + 1)..l.LastIndexOf('"')])
            .Where(name => name.Length > 0)
            .Select(name => new CaptureDevice($"webcam:{name}", name))
            .ToList();
    }

    private static IReadOnlyList<CaptureDevice> V4l2()
    {
        const string root = "/sys/class/video4linux";
        if (!Directory.Exists(root)) return [];
        return Directory.GetDirectories(root, "video*")
            .Where(d => ReadOrEmpty(Path.Combine(d, "index")) is "" or "0")   // index 1+ are metadata nodes of the same camera
            .Select(d => new CaptureDevice($"webcam:/dev/{Path.GetFileName(d)}", ReadOrEmpty(Path.Combine(d, "name"))))
            .OrderBy(c => c.Source, StringComparer.Ordinal)
            .ToList();
    }

    private static string ReadOrEmpty(string path)
    {
        try { return File.ReadAllText(path).Trim(); }
        catch (IOException) { return ""; }
        catch (UnauthorizedAccessException) { return ""; }
    }
}
