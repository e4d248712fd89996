using System.Globalization;
using VideoSsl.Decode;
using VideoSsl.Decode.Sources;
using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Graph;

/// <summary>
/// The overlay's display size when none is given: 640 pixels wide and the shape of the first source (a file's
/// frame as FFprobe reports it, a webcam's capture size), else 16:9. Frames are stretched to the display size
/// like the training frames, so the heatmap's cells line up with the picture; the right shape keeps it undistorted.
/// </summary>
public static class DisplaySizing
{
    private const int Width = 640;

    public static RunConfig Resolve(RunConfig config)
    {
        if (!config.View.Enabled || config.View.DisplaySize is not null) return config;
        var (w, h) = SourceShape(config) ?? (16, 9);
        int height = Math.Clamp((int)Math.Round(Width * (double)h / w / 2) * 2, 120, 720);
        return config with { View = config.View with { DisplaySize = string.Create(CultureInfo.InvariantCulture, $"{Width}x{height}") } };
    }

    private static (int W, int H)? SourceShape(RunConfig config)
    {
        try
        {
            var first = SourceResolver.Resolve(config.Sources.Take(1)).Sources.FirstOrDefault();
            if (first is null) return null;
            if (!first.IsFile) return SourceKinds.Of(first).Shape(first, config.Decode);
            var info = MediaProbe.Probe(first.Path);
            return info.Width > 0 && info.Height > 0 ? (info.Width, info.Height) : null;
        }
        catch (UserError)
        {
            return null;   // the run reports a bad source itself, in its own words
        }
    }
}
