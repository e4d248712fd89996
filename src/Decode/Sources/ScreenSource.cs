using System.Globalization;
using System.Text.RegularExpressions;
using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Decode.Sources;

/// <summary>
/// The screen, live like a camera: <c>screen</c> for all of it, <c>screen:WxH+X+Y</c> for a region (W x H pixels whose
/// top left corner is X, Y). FFmpeg grabs it with x11grab on Linux (the X display in DISPLAY), gdigrab on Windows and
/// avfoundation on macOS (<see cref="Platform.ScreenCapture"/>). No display, or a Wayland session without X, is one
/// clear line before anything starts.
/// </summary>
public sealed partial class ScreenSource : SourceKind
{
    public override string Name => "screen";
    public override string Spelling => "screen[:WxH+X+Y]";
    public override bool Live => true;

    public override bool Claims(string spec) => spec == "screen" || spec.StartsWith("screen:", StringComparison.Ordinal);

    /// <summary>The region a spec names, or null for the whole screen.</summary>
    public static ScreenRegion? Region(string spec)
    {
        if (spec == "screen") return null;
        var match = RegionPattern().Match(spec["screen:".Length..]);
        if (!match.Success)
            throw new UserError($"source '{spec}': a screen region is WIDTHxHEIGHT+X+Y, e.g. screen:640x360+0+0");
        int Part(int group) => int.Parse(match.Groups[group].Value, CultureInfo.InvariantCulture);
        var region = new ScreenRegion(Part(1), Part(2), Part(3), Part(4));
        if (region.Width is < 16 or > 16384 || region.Height is < 16 or > 16384)
            throw new UserError($"source '{spec}': the region must be from 16x16 to 16384x16384 pixels");
        return region;
    }

    protected override void Validate(string spec) => _ = Region(spec);

    public override void CheckAvailable(VideoSource source)
    {
        if (Platform.ScreenUnavailable() is { } why) throw new UserError($"source '{source.Path}': {why}");
    }

    public override InputPlan Plan(VideoSource source, DecodeSettings settings, double rate)
    {
        var (format, input, options) = Platform.ScreenCapture(Region(source.Path), rate);
        return new InputPlan(input, $"-f {format} {options}");
    }

    public override (int Width, int Height)? Shape(VideoSource source, DecodeSettings settings) =>
        Region(source.Path) is { } region ? (region.Width, region.Height) : null;

    public override IReadOnlyList<CaptureDevice> Devices() => Platform.ScreenUnavailable() is null
        ? [new CaptureDevice("screen", Platform.ScreenDescription), new CaptureDevice("screen:WxH+X+Y", "a region of it")]
        : [];

    [GeneratedRegex(@"^(\d{1,5})x(\d{1,5})\+(\d{1,5})\+(\d{1,5})$")]
    private static partial Regex RegionPattern();
}
