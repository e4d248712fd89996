namespace VideoSsl.Messages;

public enum DecodeEventKind
{
    SourceStarted,
    Frame,
    SourceEnded,
}

/// <summary>
/// What the decode stage sends downstream. Besides the frame or the event, every message carries the merge
/// state after it (which lane is read next, which work item starts next), so a consumer that remembers the last
/// message it handled can restart decoding exactly there.
/// </summary>
public sealed record DecodeOutput(
    DecodeEventKind Kind,
    DecodeWorkItem Item,
    int Lane,
    VideoFrame? Frame,
    DecodeOutcome? Outcome,
    int NextTurn,
    int NextWorkItem);

/// <summary>Where decoding resumes: the merge state and, per lane, the work item and its next frame.</summary>
public sealed record DecodeResumePoint(int NextWorkItem, int Turn, IReadOnlyList<LaneResume?> Lanes, IReadOnlyList<FrameRange> Refill)
{
    public static DecodeResumePoint FromStart(int lanes) => new(0, 0, new LaneResume?[lanes], []);
}

/// <summary>A lane resumes <see cref="WorkItem"/> at frame <see cref="NextFrame"/>, re-delivering [<see cref="RefillFrom"/>, NextFrame) as refill.</summary>
public sealed record LaneResume(int WorkItem, long NextFrame, long RefillFrom);

/// <summary>Frames [From, To) of a finished work item, re-decoded to refill a buffer.</summary>
public sealed record FrameRange(int WorkItem, long From, long To);
