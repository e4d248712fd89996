using System.Threading.Channels;

namespace VideoSsl.Sampling;

/// <summary>
/// One batch ready for the trainer: the pixels of b anchors followed by their b positives (Size x Size rgb24
/// each, in one buffer), what each frame is, the false-negative mask, and the sampler's state after it. Batches are
/// pooled: the trainer gives each one back when its step is done.
/// </summary>
public sealed class TrainingBatch
{
    public TrainingBatch(int maxPairs, int size)
    {
        Size = size;
        Pixels = new byte[2 * maxPairs * FrameBytes];
        SourceIds = new int[maxPairs];
        AnchorPts = new double[maxPairs];
        PositivePts = new double[maxPairs];
        Mask = new bool[maxPairs * maxPairs];
    }

    public int Size { get; }
    public int FrameBytes => Size * Size * 3;
    public int MaxPairs => SourceIds.Length;

    /// <summary>Pairs in this batch (b); the frames used are 2b.</summary>
    public int Count { get; set; }

    /// <summary>Anchors in [0, b), positives in [b, 2b), FrameBytes each.</summary>
    public byte[] Pixels { get; }

    public int[] SourceIds { get; }
    public double[] AnchorPts { get; }
    public double[] PositivePts { get; }

    /// <summary>Row-major b x b: Mask[i * b + j] true when positive j must not be a negative for anchor i.</summary>
    public bool[] Mask { get; }

    public int MaskedPairs { get; set; }
    public double MaskedFraction => Count < 2 ? 0 : MaskedPairs / (double)(Count * (Count - 1));

    /// <summary>Frames the sampler had taken in (refills excluded) when it made this batch.</summary>
    public long FramesIngested { get; set; }

    /// <summary>When the newest frame of the batch left FFmpeg (<see cref="System.Diagnostics.Stopwatch"/> ticks).</summary>
    public long NewestArrivalTicks { get; set; }

    /// <summary>Sampler state after this batch: a checkpoint taken after training on it resumes from here.</summary>
    public SamplerState? State { get; set; }

    public Span<byte> Frame(int slot) => Pixels.AsSpan(slot * FrameBytes, FrameBytes);

    /// <summary>The b x b mask as a flat array of exactly b * b entries.</summary>
    public bool[] MaskForCount()
    {
        var mask = new bool[Count * Count];
        Array.Copy(Mask, mask, mask.Length);
        return mask;
    }
}

/// <summary>A fixed set of batch buffers passed between the sampler and the trainer, so no step allocates one.</summary>
public sealed class BatchPool
{
    private readonly Channel<TrainingBatch> _free;

    public BatchPool(int buffers, int maxPairs, int size)
    {
        _free = Channel.CreateUnbounded<TrainingBatch>();
        for (int i = 0; i < buffers; i++) _free.Writer.TryWrite(new TrainingBatch(maxPairs, size));
    }

    public TrainingBatch Rent(CancellationToken cancel) =>
        _free.Reader.TryRead(out var batch) ? batch : _free.Reader.ReadAsync(cancel).AsTask().GetAwaiter().GetResult();

    public void Return(TrainingBatch batch) => _free.Writer.TryWrite(batch);
}
