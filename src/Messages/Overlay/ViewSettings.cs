using System.Globalization;
using System.Text.Json.Serialization;
using VideoSsl.Engine;

namespace VideoSsl.Messages.Overlay;

/// <summary>Where the overlay is drawn.</summary>
[JsonConverter(typeof(ChoiceConverter<ViewMode>))]
public enum ViewMode
{
    /// <summary>A window where a display exists, else headless, else nothing.</summary>
    Auto,

    /// <summary>A window (GLFW), or a one-line error.</summary>
    Window,

    /// <summary>An offscreen context (EGL), or a one-line error.</summary>
    Headless,

    /// <summary>No overlay.</summary>
    None,
}

/// <summary>How the overlay is shown, recorded and paced; part of the run's configuration.</summary>
public sealed record ViewSettings
{
    public ViewMode View { get; init; } = ViewMode.None;

    /// <summary>Overlay frames per second; rendering sleeps the rest, so training keeps most of the CPU.</summary>
    public double RenderFps { get; init; } = 30;

    /// <summary>
    /// Size the frame is shown at, WIDTHxHEIGHT (decoded at that size beside the training frames); null: 640 wide
    /// and the first source's shape (see <c>DisplaySizing</c>).
    /// </summary>
    public string? DisplaySize { get; init; }

    /// <summary>Encode every overlay frame into this video (H.264 through FFmpeg).</summary>
    public string? Record { get; init; }

    /// <summary>Write a PNG of every Nth overlay frame into <see cref="SnapshotDir"/>.</summary>
    public int? SnapshotEvery { get; init; }

    public string? SnapshotDir { get; init; }

    /// <summary>Heatmap opacity over the frame, 0 to 1.</summary>
    public double HeatmapOpacity { get; init; } = 0.55;

    /// <summary>Folder with the overlay's shaders (default: the repository's shaders/, else the copy beside the program).</summary>
    public string? Shaders { get; init; }

    [JsonIgnore]
    public bool Enabled => View != ViewMode.None;

    [JsonIgnore]
    public (int Width, int Height) DisplayPixels => ParseSize(DisplaySize ?? "") ?? (640, 360);

    public IEnumerable<string> Problems()
    {
        if (!(RenderFps is > 0 and <= 240)) yield return $"render-fps must be above 0 and at most 240 (got {RenderFps})";
        if (DisplaySize is not null && (ParseSize(DisplaySize) is not { } size || size.Width < 64 || size.Height < 64 || size.Width > 3840 || size.Height > 2160 || size.Width % 2 != 0 || size.Height % 2 != 0))
            yield return $"display-size must be WIDTHxHEIGHT, even numbers from 64x64 to 3840x2160 (got '{DisplaySize}')";
        if (SnapshotEvery is < 1) yield return $"snapshot-every must be at least 1 (got {SnapshotEvery})";
        if (SnapshotEvery is not null && string.IsNullOrEmpty(SnapshotDir)) yield return "snapshot-every needs --snapshot-dir";
        if (!(HeatmapOpacity is >= 0 and <= 1)) yield return $"heatmap-opacity must be from 0 to 1 (got {HeatmapOpacity})";
        // FFmpeg overwrites the file it records into: only a video file, so a configuration from elsewhere cannot aim it at any other.
        if (Record is not null && Path.GetExtension(Record).ToLowerInvariant() is not (".mp4" or ".mkv" or ".mov"))
            yield return $"record must be a video file ending in .mp4, .mkv or .mov (got '{Record}')";
        if (!Enabled && (Record is not null || SnapshotEvery is not null))
            yield return "--record and --snapshot-every draw the overlay: pass --view headless (or window, or auto)";
    }

    private static (int Width, int Height)? ParseSize(string text)
    {
        var parts = text.Split('x', 'X');
        return parts.Length == 2 && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int w)
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int h) ? (w, h) : null;
    }
}

/// <summary>What the pipeline's monitor hands the overlay each frame besides the feed: counters and the loss.</summary>
public sealed record OverlayStatus(
    IReadOnlyList<StageSnapshot> Stages,
    long Step,
    double? Loss,
    double? LossNorm,
    string Device,
    IReadOnlyList<double> LossHistory,
    string? Source,
    bool Training,
    IReadOnlyList<(long Step, double Auc, double Tau)>? HeldOut = null);

/// <summary>
/// The overlay as the pipeline sees it: it is given the feed's data and a status to draw, on the thread that
/// created it (the one that owns the GL context), and it can ask the run to stop (Q, Esc, closing the window).
/// </summary>
public interface IOverlayView
{
    OverlayFeed Feed { get; }
    double Hertz { get; }
    bool QuitRequested { get; }
    void Render(OverlayStatus status);
}
