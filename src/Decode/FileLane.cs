using VideoSsl.Engine;
using VideoSsl.Messages;
using VideoSsl.Messages.Overlay;

namespace VideoSsl.Decode;

/// <summary>One file work item being read (by an FFmpeg process of its own, or its share of a batch), and what the merge knows about it.</summary>
internal sealed class FileLane
{
    private FileLane(DecodeWorkItem item, int index, IFileFrames reader, long delivered)
    {
        Item = item;
        Index = index;
        Reader = reader;
        Delivered = delivered;
    }

    /// <summary>
    /// Frames the merge waits for in a file lane before it wakes (and twice as many may queue in it): every wake-up
    /// is a context switch on each side, and at one per frame or two they cost a few percent of the decode.
    /// </summary>
    public const int Burst = 8;

    public DecodeWorkItem Item { get; }
    public int Index { get; }
    public IFileFrames Reader { get; }

    /// <summary>The end (exclusive) of the run of work items this lane owns: it reads them all before it takes another run.</summary>
    public int RunEnd { get; set; }

    /// <summary>Frames of this item delivered downstream, counted across a resume.</summary>
    public long Delivered { get; set; }

    /// <summary>A frame read ahead while draining refills, handed out first.</summary>
    public VideoFrame? Pending { get; set; }

    public bool TryTakeFrame(out VideoFrame frame, bool wait, CancellationToken cancel)
    {
        if (Pending is { } pending)
        {
            Pending = null;
            frame = pending;
            return true;
        }
        if (Reader.Frames.TryRead(out frame!)) return true;
        if (!wait) return false;
        Reader.WaitForFrames(Burst, cancel);
        return Reader.Frames.TryReadBlocking(out frame, cancel);
    }

    public static FileLane Fresh(DecodeWorkItem item, int index, InputPlan plan, int size, SemaphoreSlim ready, OverlayFeed? display, CancellationToken cancel) =>
        new(item, index, FfmpegFrameReader.Start(item, index, size, plan, new ReadOptions { Capacity = 2 * Burst, Signal = () => ready.Release(), Display = display }, cancel), 0);

    /// <summary>A lane on one file of a <see cref="ShortFileBatch"/>.</summary>
    public static FileLane Batched(IFileFrames file, int index) => new(file.Item, index, file, 0);

    /// <summary>A lane restarted after a resume: refill frames come first, flagged as refill, then new frames.</summary>
    public static FileLane Resume(DecodeWorkItem item, int index, LaneResume resume, InputPlan plan, int size, OverlayFeed? display, CancellationToken cancel) =>
        new(item, index, FfmpegFrameReader.Start(item, index, size, plan,
            new ReadOptions { Capacity = 2 * Burst, SkipBefore = resume.RefillFrom, RefillBefore = resume.NextFrame, Display = display }, cancel), resume.NextFrame);
}
