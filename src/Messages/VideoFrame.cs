using System.Buffers;

namespace VideoSsl.Messages;

/// <summary>
/// One decoded frame: Size x Size rgb24 pixels, top row first, in a pooled buffer. Whoever holds the frame last
/// calls <see cref="Release"/> to give the buffer back; a released frame must not be read again.
/// </summary>
public sealed class VideoFrame
{
    private byte[]? _pixels;

    public VideoFrame(int sourceId, int workItem, int lane, long index, double pts, int size, byte[] pixels, bool refill, long arrivalTicks = 0)
    {
        SourceId = sourceId;
        WorkItem = workItem;
        Lane = lane;
        Index = index;
        Pts = pts;
        Size = size;
        _pixels = pixels;
        Refill = refill;
        ArrivalTicks = arrivalTicks;
    }

    public int SourceId { get; }
    public int WorkItem { get; }
    public int Lane { get; }

    /// <summary>Position of the frame in its source's decoded (resampled) stream, from 0.</summary>
    public long Index { get; }

    /// <summary>Time in seconds: from the start of a file, or since a live source was first opened.</summary>
    public double Pts { get; }

    public int Size { get; }

    /// <summary>Re-decoded after a resume only to refill the sampler's buffers; it earns no training credit.</summary>
    public bool Refill { get; }

    /// <summary><see cref="System.Diagnostics.Stopwatch"/> timestamp of the moment the frame left FFmpeg (for latency).</summary>
    public long ArrivalTicks { get; }

    /// <summary>Set once the frame has gone into a training batch (frames a live source loses unused count as dropped).</summary>
    public bool Used { get; set; }

    public int ByteCount => Size * Size * 3;

    public ReadOnlySpan<byte> Pixels =>
        (_pixels ?? throw new ObjectDisposedException(nameof(VideoFrame), "frame was already released")).AsSpan(0, ByteCount);

    public static byte[] RentBuffer(int size) => ArrayPool<byte>.Shared.Rent(size * size * 3);

    public void Release()
    {
        byte[]? pixels = Interlocked.Exchange(ref _pixels, null);
        if (pixels is not null) ArrayPool<byte>.Shared.Return(pixels);
    }
}
