namespace VideoSsl.Decode;

/// <summary>One pass over one source: the schedule is every source once per epoch, in order.</summary>
public sealed record DecodeWorkItem(int Index, VideoSource Source, int Epoch, VideoInfo Info, double Rate)
{
    public long ExpectedFrames => Info.ExpectedFrames(Rate);

    public static IReadOnlyList<DecodeWorkItem> Schedule(IReadOnlyList<(VideoSource Source, VideoInfo Info)> sources, int epochs, double? fps)
    {
        var items = new List<DecodeWorkItem>();
        for (int epoch = 0; epoch < epochs; epoch++)
            foreach (var (source, info) in sources)
                items.Add(new DecodeWorkItem(items.Count, source, epoch, info, info.DecodeRate(fps)));
        return items;
    }
}

/// <summary>How a work item's decode ended.</summary>
public sealed record DecodeOutcome(long FramesDelivered, long ExpectedFrames, string? Error, bool Stopped)
{
    /// <summary>FFmpeg ended early without an error (e.g. a truncated file whose index is at the front).</summary>
    public bool LooksPartial => Error is null && !Stopped && FramesDelivered < ExpectedFrames * 0.9;
}
