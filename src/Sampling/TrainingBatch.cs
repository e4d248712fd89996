using System.Threading.Channels;

namespace VideoSsl.Sampling;

/// <summary>
/// One batch ready for the trainer: the pixels of b anchors followed by their positives, one block of b per
/// positive drawn (Size x Size rgb24 each, in one buffer), what each frame is, the false-negative mask, and the
/// sampler's state after it. Batches are pooled: the trainer gives each one back when its step is done.
/// </summary>
public sealed class TrainingBatch
{
    public TrainingBatch(int maxPairs, int size, int positives = 1)
    {
        Size = size;
        Positives = positives;
        Pixels = new byte[(1 + positives) * maxPairs * FrameBytes];
        SourceIds = new int[maxPairs];
        AnchorPts = new double[maxPairs];
        PositivePts = new double[positives * maxPairs];
        Mask = new bool[maxPairs * positives * maxPairs];
    }

    public int Size { get; }
    public int FrameBytes => Size * Size * 3;
    public int MaxPairs => SourceIds.Length;

    /// <summary>Positives per anchor (K): one block of b positive frames each.</summary>
    public int Positives { get; }

    /// <summary>Anchors in this batch (b); the frames used are (1 + K) b.</summary>
    public int Count { get; set; }

    /// <summary>Anchors in [0, b), then positive k of anchor i at b + k b + i, FrameBytes each.</summary>
    public byte[] Pixels { get; }

    public int[] SourceIds { get; }
    public double[] AnchorPts { get; }

    /// <summary>Time of positive k of anchor i at [k * MaxPairs + i].</summary>
    public double[] PositivePts { get; }

    /// <summary>Row-major b x (K b): Mask[i * K b + k b + j] true when positive k of anchor j must not be a negative for anchor i.</summary>
    public bool[] Mask { get; }

    /// <summary>The frame slot of positive <paramref name="k"/> of anchor <paramref name="i"/>.</summary>
    public int PositiveSlot(int i, int k = 0) => Count + k * Count + i;

    public int MaskedPairs { get; set; }
    public double MaskedFraction => Count < 2 ? 0 : MaskedPairs / (double)(Count * (Count - 1));

    /// <summary>Frames the sampler had taken in (refills excluded) when it made this batch.</summary>
    public long FramesIngested { get; set; }

    /// <summary>When the newest frame of the batch left FFmpeg (<see cref="System.Diagnostics.Stopwatch"/> ticks).</summary>
    public long NewestArrivalTicks { get; set; }

    /// <summary>Sampler state after this batch: a checkpoint taken after training on it resumes from here.</summary>
    public SamplerState? State { get; set; }

    public Span<byte> Frame(int slot) => Pixels.AsSpan(slot * FrameBytes, FrameBytes);

    /// <summary>The b x (K b) mask as a flat array of exactly that many entries.</summary>
    public bool[] MaskForCount()
    {
        var mask = new bool[Count * Positives * Count];
        Array.Copy(Mask, mask, mask.Length);
        return mask;
    }
}

/// <summary>A fixed set of batch buffers passed between the sampler and the trainer, so no step allocates one.</summary>
public sealed class BatchPool
{
    private readonly Channel<TrainingBatch> _free;

    public BatchPool(int buffers, int maxPairs, int size, int positives = 1)
    {
        _free = Channel.CreateUnbounded<TrainingBatch>();
        for (int i = 0; i < buffers; i++) _free.Writer.TryWrite(new TrainingBatch(maxPairs, size, positives));
    }

    public TrainingBatch Rent(CancellationToken cancel) =>
        _free.Reader.TryRead(out var batch) ? batch : _free.Reader.ReadAsync(cancel).AsTask().GetAwaiter().GetResult();

    public void Return(TrainingBatch batch) => _free.Writer.TryWrite(batch);
}
