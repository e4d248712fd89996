using VideoSsl.Messages;

namespace VideoSsl.Sampling;

/// <summary>
/// Everything the sampler needs to continue exactly where it was after a batch: its random state, its pacing
/// credit, which frame ranges its rings held, and where the decode merge stood. Saved in every checkpoint.
/// </summary>
public sealed record SamplerState(
    ulong[] Random,
    double Credit,
    long FramesIngested,
    long Batches,
    IReadOnlyList<RingState> Rings,
    DecodeCursor Decode)
{
    /// <summary>Where decoding restarts so that the rings fill again with exactly the frames they held.</summary>
    public DecodeResumePoint ToResumePoint()
    {
        var lanes = Decode.Lanes.Select(lane => lane is null ? null : new LaneResume(
            lane.WorkItem, lane.NextFrame,
            Rings.FirstOrDefault(r => r.Active && r.WorkItem == lane.WorkItem)?.From ?? lane.NextFrame)).ToList();
        var refill = Rings.Where(r => !r.Active && r.To > r.From).Select(r => new FrameRange(r.WorkItem, r.From, r.To)).ToList();
        return new DecodeResumePoint(Decode.NextWorkItem, Decode.Turn, lanes, refill);
    }
}

/// <summary>A ring held frames [From, To) of a work item.</summary>
public sealed record RingState(int SourceId, int WorkItem, long From, long To, bool Active);

/// <summary>The decode merge state as the sampler last saw it.</summary>
public sealed record DecodeCursor(int NextWorkItem, int Turn, IReadOnlyList<LaneCursor?> Lanes);

/// <summary>A lane was reading <see cref="WorkItem"/> and its next frame is <see cref="NextFrame"/>.</summary>
public sealed record LaneCursor(int WorkItem, long NextFrame);
