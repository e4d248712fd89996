using Microsoft.Extensions.Logging;
using VideoSsl.Decode.Sources;
using VideoSsl.Engine;
using VideoSsl.Messages;
using VideoSsl.Messages.Overlay;

namespace VideoSsl.Decode;

/// <summary>What a live lane needs from the decode stage it runs in: settings, where to log and count, what to wake, where frames are shown and kept.</summary>
internal sealed record LiveLaneContext(
    DecodeSettings Settings,
    ILogger Log,
    InputPlan Plan,
    Action Signal,
    Action Dropped,
    Action Reconnected,
    OverlayFeed? Display,
    string? RecentFolder);

/// <summary>
/// A live source's lane, for the whole run: one FFmpeg process at a time, reopened after <see cref="ReconnectPolicy"/>'s
/// back-off whenever it ends. Frames keep counting on across a reopening (index and time), a source that is silent
/// for --read-timeout is said to be so once, and the only source of a run that never opened fails it at once unless
/// it is one that waits for a sender (UDP, RTP).
/// </summary>
internal sealed class LiveLane(DecodeWorkItem item, int index, LiveLaneContext context, IClock clock)
{
    private readonly double _origin = clock.Now;
    private readonly ReconnectPolicy _reconnect = new(context.Settings.ReconnectMaxSeconds, clock);
    private long _nextIndex;
    private double _nextPts;
    private bool _awaitingFirstFrame = true;
    private double _silentSince = clock.Now;
    private bool _warnedSilent;

    public DecodeWorkItem Item { get; } = item;
    public FfmpegFrameReader? Reader { get; private set; }
    public bool Closed { get; private set; }

    public TimeSpan WaitBeforeRetry => Reader is null && !Closed ? _reconnect.UntilDue : TimeSpan.MaxValue;

    public void StartIfDue(CancellationToken cancel)
    {
        if (Closed || Reader is not null || !_reconnect.Due) return;
        var settings = context.Settings;
        Reader = FfmpegFrameReader.Start(Item, index, settings.Size, context.Plan, new ReadOptions
        {
            Live = true,
            Capacity = settings.LiveQueueFrames,
            FirstIndex = _nextIndex,
            // A reopened source resumes at the wall-clock time it was reopened (gaps stay gaps), never before its last frame.
            PtsStart = Math.Max(clock.Now - _origin, _nextPts),
            Signal = context.Signal,
            Dropped = context.Dropped,
            Display = context.Display,
            RecordPrefix = context.RecentFolder is { } folder ? Path.Combine(Directory.CreateDirectory(folder).FullName, $"source{Item.Source.Id}") : null,
            RecordSegmentSeconds = settings.RecentSegmentSeconds,
        }, cancel);
    }

    /// <summary>Says once per silent spell, within --read-timeout, that nothing is arriving (the run goes on waiting).</summary>
    public void WarnIfSilent()
    {
        double timeout = context.Settings.ReadTimeoutSeconds;
        if (_warnedSilent || Closed || clock.Now - _silentSince < timeout) return;
        _warnedSilent = true;
        context.Log.LogWarning("source '{Source}': nothing has arrived for {Seconds} s; {What} (a limit or Ctrl+C ends the run)", Item.Source.Path,
            timeout, _awaitingFirstFrame ? "waiting for the sender to start" : "waiting for it to come back");
    }

    public void Received(VideoFrame frame)
    {
        _silentSince = clock.Now;
        _warnedSilent = false;
        _nextIndex = frame.Index + 1;
        _nextPts = frame.Pts + 1 / Item.Rate;
        if (_reconnect.FailuresInARow > 0)
            context.Log.LogInformation("source '{Source}': receiving again", Item.Source.Path);
        _reconnect.Recovered();
        _awaitingFirstFrame = false;
    }

    /// <summary>The process ended: reopen later, or give up at once when the only source never opened.</summary>
    public void Dropped(bool onlySource)
    {
        var outcome = Reader!.Outcome.GetAwaiter().GetResult();
        Reader.Dispose();
        Reader = null;
        string cause = outcome.Error ?? "the stream ended";
        if (_awaitingFirstFrame && onlySource && !SourceKinds.Of(Item.Source).WaitsForSender(Item.Source))
            throw new UserError($"source '{Item.Source.Path}': cannot be read ({cause})");
        context.Reconnected();
        double wait = _reconnect.Dropped();
        context.Log.LogWarning("source '{Source}': {Cause}; reopening in {Wait} s (attempt {Attempt})",
            Item.Source.Path, cause, wait, _reconnect.FailuresInARow);
    }

    public void Close()
    {
        Closed = true;
        Reader?.Stop();
    }
}
