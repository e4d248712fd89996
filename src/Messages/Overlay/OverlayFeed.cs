using System.Collections.Concurrent;
using VideoSsl.Engine;

namespace VideoSsl.Messages.Overlay;

/// <summary>The frame as shown: rgb24 rows at display size.</summary>
public sealed record DisplayImage(byte[] Rgb, int Width, int Height, double Pts);

/// <summary>The same moment at the model's input size, for the heatmaps.</summary>
public sealed record ProbeImage(byte[] Rgb, int Size, double Pts);

/// <summary>What the heatmap over the frame shows.</summary>
public enum HeatmapMode
{
    /// <summary>Each cell's similarity to the feature of a chosen spot (click), so the spot is followed.</summary>
    Query,

    /// <summary>Each cell's similarity to the embedding of the frame a few seconds earlier.</summary>
    Reference,

    /// <summary>Each cell's similarity to the same cell one probe earlier (low where the picture changed).</summary>
    Change,
}

/// <summary>
/// One heatmap: cosine similarities per cell of the encoder's feature map, row-major from the top, with the range
/// the colour map spans (<see cref="Low"/> maps to the cold end, <see cref="High"/> to the hot end).
/// </summary>
public sealed record Heatmap(float[] Cells, int Width, int Height, HeatmapMode Mode, float Low, float High, string Caption)
{
    public static Heatmap Blank(HeatmapMode mode) => new([0f], 1, 1, mode, 0f, 1f, "waiting for the model");
}

/// <summary>
/// Cosine similarities among the last <see cref="Count"/> probed frames (oldest first): the matrix (Count x Count)
/// and the strip of the newest frame against each of them.
/// </summary>
public sealed record SimilarityHistory(float[] Matrix, float[] Strip, int Count, double SpanSeconds);

/// <summary>
/// Everything the overlay shows that other stages produce, and the viewer's requests back to them, as
/// latest-value-wins slots: the decoder and the trainer publish and never wait for the renderer, and the renderer
/// draws whatever is newest and never waits for them.
/// </summary>
public sealed class OverlayFeed
{
    private readonly ConcurrentBag<byte[]> _displayBuffers = [];
    private readonly Lock _queryLock = new();
    private readonly IClock _clock;
    private readonly Lock _displayLock = new();
    private double _lastDisplay = double.NegativeInfinity;
    private long _queryVersion;
    private (float X, float Y)? _query;
    private int _mode;
    private long _resetRequests;
    private volatile bool _paused;

    public OverlayFeed(int displayWidth, int displayHeight, double displayHz, IClock? clock = null)
    {
        _clock = clock ?? SystemClock.Instance;
        DisplayWidth = displayWidth;
        DisplayHeight = displayHeight;
        DisplayHz = displayHz;
    }

    public int DisplayWidth { get; }
    public int DisplayHeight { get; }

    /// <summary>Display frames are copied out of the decoder at most this often (twice the render rate is plenty).</summary>
    public double DisplayHz { get; }

    public LatestValue<DisplayImage> Display { get; } = new();
    public LatestValue<ProbeImage> Probe { get; } = new();
    public LatestValue<Heatmap> Heat { get; } = new();
    public LatestValue<SimilarityHistory> Similarity { get; } = new();

    /// <summary>True when the decoder should copy out a display frame now (the copy costs more than the check).</summary>
    public bool WantsDisplayFrame()
    {
        double now = _clock.Now;
        lock (_displayLock)
        {
            if (now - _lastDisplay < 1 / DisplayHz) return false;
            _lastDisplay = now;
            return true;
        }
    }

    /// <summary>A buffer for a display frame (recycled from ones the renderer has uploaded).</summary>
    public byte[] RentDisplayBuffer() =>
        _displayBuffers.TryTake(out var buffer) ? buffer : new byte[DisplayWidth * DisplayHeight * 3];

    public void ReturnDisplayBuffer(byte[] buffer)
    {
        if (buffer.Length == DisplayWidth * DisplayHeight * 3 && _displayBuffers.Count < 4) _displayBuffers.Add(buffer);
    }

    public HeatmapMode Mode
    {
        get => (HeatmapMode)Volatile.Read(ref _mode);
        set => Volatile.Write(ref _mode, (int)value);
    }

    /// <summary>Asks for the query point at (x, y), each in [0, 1] of the frame, and switches to query mode.</summary>
    public void SetQuery(float x, float y)
    {
        lock (_queryLock) _query = (Math.Clamp(x, 0, 1), Math.Clamp(y, 0, 1));
        Interlocked.Increment(ref _queryVersion);
        Mode = HeatmapMode.Query;
    }

    public bool TryTakeQuery(ref long seen, out (float X, float Y) point)
    {
        long version = Interlocked.Read(ref _queryVersion);
        lock (_queryLock)
        {
            if (version == seen || _query is null)
            {
                point = default;
                return false;
            }
            seen = version;
            point = _query.Value;
            return true;
        }
    }

    /// <summary>R: forget the query point (query mode) or pin the reference to the current frame (reference mode).</summary>
    public void RequestReset() => Interlocked.Increment(ref _resetRequests);

    public long ResetRequests => Interlocked.Read(ref _resetRequests);

    /// <summary>Training pauses between steps while set; the heatmaps keep following the video.</summary>
    public bool Paused
    {
        get => _paused;
        set => _paused = value;
    }
}
