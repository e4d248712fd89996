namespace VideoSsl.Messages;

/// <summary>
/// One pass over one file, or the whole life of one live source. Files are scheduled once per epoch, in order;
/// live sources each get one item, numbered after the files'.
/// </summary>
public sealed record DecodeWorkItem(int Index, VideoSource Source, int Epoch, VideoInfo? Info, double Rate)
{
    /// <summary>Frames a full pass should deliver; 0 for live sources, which have no end.</summary>
    public long ExpectedFrames => Info?.ExpectedFrames(Rate) ?? 0;
}

/// <summary>How a work item's decode ended.</summary>
public sealed record DecodeOutcome(long FramesDelivered, long ExpectedFrames, string? Error, bool Stopped)
{
    /// <summary>FFmpeg ended early without an error (e.g. a truncated file whose index is at the front).</summary>
    public bool LooksPartial => Error is null && !Stopped && FramesDelivered < ExpectedFrames * 0.9;
}
