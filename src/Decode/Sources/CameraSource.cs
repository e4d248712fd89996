using System.Globalization;
using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Decode.Sources;

/// <summary>
/// A camera: <c>webcam</c> (the default one) or <c>webcam:DEVICE</c> (v4l2 on Linux, dshow on Windows, avfoundation on
/// macOS), asked for --camera-size at --camera-fps. Live.
/// </summary>
public sealed class CameraSource : SourceKind
{
    public override string Name => "camera";
    public override string Spelling => "webcam[:DEVICE]";
    public override bool Live => true;

    public override bool Claims(string spec) => spec == "webcam" || spec.StartsWith("webcam:", StringComparison.Ordinal);

    /// <summary>The spec's device part: "" for the default camera.</summary>
    public static string Device(string spec) => spec == "webcam" ? "" : spec["webcam:".Length..];

    public override void CheckAvailable(VideoSource source)
    {
        // On Linux a camera is a device node: say so at once when it is not there.
        if (!OperatingSystem.IsLinux()) return;
        string device = Platform.CameraInput(Device(source.Path));
        if (!System.IO.File.Exists(device))
            throw new UserError($"source '{source.Path}': no camera at {device} ('videossl devices' lists the cameras FFmpeg can see)");
    }

    public override InputPlan Plan(VideoSource source, DecodeSettings settings, double rate)
    {
        var (w, h) = settings.CameraDimensions;
        string capture = $"-framerate {settings.CameraFps.ToString("0.###", CultureInfo.InvariantCulture)} -video_size {w}x{h}";
        string device = Device(source.Path);
        if (device.Length == 0 && OperatingSystem.IsWindows())
            throw new UserError($"source '{source.Path}': on Windows, name the camera as webcam:NAME ('videossl devices' lists them)");
        return new InputPlan(Platform.CameraInput(device), $"-f {Platform.CameraFormat} {capture}");
    }

    public override double Rate(VideoSource source, VideoInfo? info, DecodeSettings settings) => settings.Fps ?? settings.CameraFps;

    public override (int Width, int Height)? Shape(VideoSource source, DecodeSettings settings) => settings.CameraDimensions;

    public override IReadOnlyList<CaptureDevice> Devices() => CameraDevices.List();
}
