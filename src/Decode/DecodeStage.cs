using Microsoft.Extensions.Logging;
using VideoSsl.Decode.Sources;
using VideoSsl.Engine;
using VideoSsl.Messages;
using VideoSsl.Messages.Overlay;

namespace VideoSsl.Decode;

/// <summary>
/// Stage 1 of the pipeline: FFmpeg processes ("lanes") decode the sources, and this stage merges their frames into
/// one bounded output channel.
///
/// Files: up to <see cref="DecodeSettings.ParallelSources"/> lanes, each on one work item of the schedule; a lane
/// whose item ends takes the next one at once. When only files are read, the merge takes one frame from each lane
/// in turn, so the output order depends only on the sources, never on which process happened to be faster: two
/// runs with the same seed see the same frames in the same order, and a resumed run restarts the merge exactly
/// where its checkpoint left it. Files are back-pressured: a full output channel holds every FFmpeg process back.
///
/// Live sources (cameras, streams, testsrc, --realtime files): one lane each, for the whole run. Their queues drop
/// the oldest frame rather than stall the source, and a source that drops out is reopened with exponential
/// back-off. With live sources the merge takes frames as they come.
/// </summary>
public sealed class DecodeStage : ProducingStage<DecodeOutput>
{
    private readonly IReadOnlyList<DecodeWorkItem> _schedule;
    private readonly IReadOnlyList<DecodeWorkItem> _liveItems;
    private readonly DecodeSettings _settings;
    private readonly DecodeResumePoint _start;
    private readonly long? _frameBudget;
    private readonly ILogger _log;
    private readonly FileLane?[] _lanes;
    private readonly List<LiveLane> _live = [];
    private readonly SemaphoreSlim _frameReady = new(0);
    private long _framesDelivered;
    private long _reconnects;

    /// <param name="schedule">File work items, in order.</param>
    /// <param name="liveItems">One work item per live source.</param>
    /// <param name="frameBudget">Stop after delivering this many (non-refill) frames in total, if given.</param>
    /// <param name="clock">The time live lanes read (back-off, silence, timestamps of reopened sources); the machine's unless a test steps its own.</param>
    /// <param name="output">The edge to the next stage, made by the graph (by default one of --queue-frames whose consumer wakes per frame).</param>
    public DecodeStage(IReadOnlyList<DecodeWorkItem> schedule, IReadOnlyList<DecodeWorkItem> liveItems, DecodeSettings settings,
        DecodeResumePoint start, long? frameBudget, ILogger log, IClock? clock = null, Edge<DecodeOutput>? output = null)
        : base("decode", output ?? new Edge<DecodeOutput>("frames", settings.QueueFrames), clock)
    {
        _schedule = schedule;
        _liveItems = liveItems;
        _settings = settings;
        _start = start;
        _frameBudget = frameBudget;
        _log = log;
        _lanes = new FileLane?[schedule.Count == 0 ? 0 : Math.Max(1, start.Lanes.Count)];
    }

    /// <summary>The overlay fed with display frames from one lane, lane 0: the first file lane, else the first live source.</summary>
    public OverlayFeed? Overlay { get; init; }

    private OverlayFeed? DisplayFor(int lane) => lane == 0 ? Overlay : null;

    /// <summary>Where live sources keep their recent input (RUN_DIR/recent), when --keep-recent is set.</summary>
    public string? RecentFolder { get; init; }

    private RecentSegments _recent = null!;   // made when the stage starts, once RecentFolder is known

    /// <summary>Frames delivered so far (refills excluded).</summary>
    public long FramesDelivered => Interlocked.Read(ref _framesDelivered);

    /// <summary>Times a live source dropped out and was reopened.</summary>
    public long Reconnects => Interlocked.Read(ref _reconnects);

    private int LaneCount => _lanes.Length;

    protected override void Run(CancellationToken cancel)
    {
        FfmpegTools.EnsureInstalled();
        _recent = new RecentSegments(RecentFolder, _settings.KeepRecentMinutes, _log);
        int nextWorkItem = _start.NextWorkItem;
        int turn = _start.Turn;
        try
        {
            Refill(cancel);
            for (int lane = 0; lane < LaneCount; lane++)
            {
                if (_start.Lanes.ElementAtOrDefault(lane) is not { } resume) continue;
                _lanes[lane] = FileLane.Resume(_schedule[resume.WorkItem], lane, resume, Plan(_schedule[resume.WorkItem]), _settings.Size, DisplayFor(lane), cancel);
                DrainRefill(_lanes[lane]!, cancel);
            }
            for (int lane = 0; lane < LaneCount; lane++)
                if (_lanes[lane] is null) StartNext(lane, ref nextWorkItem, turn, cancel);
            foreach (var item in _liveItems)
            {
                int index = LaneCount + _live.Count;
                var context = new LiveLaneContext(_settings, _log, Plan(item), () => _frameReady.Release(), () => Counters.CountDropped(),
                    () => Interlocked.Increment(ref _reconnects), DisplayFor(index), RecentFolder);
                var live = new LiveLane(item, index, context, Clock.Source);
                _live.Add(live);
                Emit(new DecodeOutput(DecodeEventKind.SourceStarted, item, LaneCount + _live.Count - 1, null, null, turn, nextWorkItem), cancel);
            }

            if (_live.Count == 0) MergeInTurn(ref nextWorkItem, ref turn, cancel);
            else MergeAsTheyCome(ref nextWorkItem, ref turn, cancel);
        }
        finally
        {
            foreach (var lane in _lanes)
            {
                lane?.Pending?.Release();
                lane?.Reader.Dispose();
            }
            foreach (var lane in _live) lane.Reader?.Dispose();
            _recent.DropEmpty();
        }
    }

    /// <summary>Files only: one frame from each lane in turn, waiting for the lane whose turn it is.</summary>
    private void MergeInTurn(ref int nextWorkItem, ref int turn, CancellationToken cancel)
    {
        while (_lanes.Any(l => l is not null))
        {
            var lane = _lanes[turn];
            if (lane is null)
            {
                turn = (turn + 1) % LaneCount;
                continue;
            }
            if (lane.TryTakeFrame(out var frame, wait: true, cancel))
            {
                if (!Deliver(lane.Item, lane.Index, frame, ref turn, nextWorkItem, cancel)) return;
                lane.Delivered++;
            }
            else
            {
                FinishFileLane(lane, ref nextWorkItem, turn, cancel);
            }
        }
    }

    /// <summary>With live sources: whatever lane has a frame, in rotation; never waits on one lane while another has frames.</summary>
    private void MergeAsTheyCome(ref int nextWorkItem, ref int turn, CancellationToken cancel)
    {
        int total = LaneCount + _live.Count;
        while (_lanes.Any(l => l is not null) || _live.Any(l => !l.Closed))
        {
            foreach (var lane in _live)
            {
                lane.StartIfDue(cancel);
                lane.WarnIfSilent();
            }
            _recent.Prune();
            bool progressed = false;
            for (int step = 0; step < total && !progressed; step++)
            {
                int index = (turn + step) % total;
                if (index < LaneCount)
                {
                    if (_lanes[index] is not { } fileLane) continue;
                    if (fileLane.TryTakeFrame(out var frame, wait: false, cancel))
                    {
                        turn = index;
                        if (!Deliver(fileLane.Item, index, frame, ref turn, nextWorkItem, cancel, total)) return;
                        fileLane.Delivered++;
                        progressed = true;
                    }
                    else if (fileLane.Reader.Outcome.IsCompleted && fileLane.Reader.Frames.Completion.IsCompleted)
                    {
                        FinishFileLane(fileLane, ref nextWorkItem, turn, cancel);
                        progressed = true;
                    }
                }
                else
                {
                    var live = _live[index - LaneCount];
                    if (live.Reader is not { } reader) continue;
                    if (reader.Frames.TryRead(out var frame))
                    {
                        turn = index;
                        live.Received(frame);
                        if (!Deliver(live.Item, index, frame, ref turn, nextWorkItem, cancel, total)) return;
                        progressed = true;
                    }
                    else if (reader.Outcome.IsCompleted && reader.Frames.Completion.IsCompleted)
                    {
                        live.Dropped(_liveItems.Count + _schedule.Count == 1);
                        progressed = true;
                    }
                }
            }
            if (!progressed) _frameReady.Wait(_live.Select(l => l.WaitBeforeRetry).Prepend(TimeSpan.FromMilliseconds(250)).Min(), cancel);
        }
    }

    /// <summary>Sends one frame downstream; false when the frame budget is spent (everything is then stopped).</summary>
    private bool Deliver(DecodeWorkItem item, int lane, VideoFrame frame, ref int turn, int nextWorkItem, CancellationToken cancel, int? laneTotal = null)
    {
        if (_frameBudget is { } budget && _framesDelivered >= budget)
        {
            frame.Release();
            StopAll("frame limit reached", nextWorkItem, turn, cancel);
            return false;
        }
        turn = (turn + 1) % (laneTotal ?? LaneCount);
        Counters.CountOut();
        Interlocked.Increment(ref _framesDelivered);
        Emit(new DecodeOutput(DecodeEventKind.Frame, item, lane, frame, null, turn, nextWorkItem), cancel);
        return true;
    }

    /// <summary>
    /// A file lane's item is over: report it and hand the lane the next item, in one step, so no checkpoint can
    /// fall between the two.
    /// </summary>
    private void FinishFileLane(FileLane lane, ref int nextWorkItem, int turn, CancellationToken cancel)
    {
        var outcome = Finish(lane);
        Emit(new DecodeOutput(DecodeEventKind.SourceEnded, lane.Item, lane.Index, null, outcome, turn, nextWorkItem), cancel);
        StartNext(lane.Index, ref nextWorkItem, turn, cancel);
    }

    /// <summary>Re-decodes the frames a resumed sampler needs back in its buffers before anything new.</summary>
    private void Refill(CancellationToken cancel)
    {
        foreach (var range in _start.Refill)
        {
            var item = _schedule[range.WorkItem];
            using var reader = FfmpegFrameReader.Start(item, lane: -1, _settings.Size, Plan(item),
                new ReadOptions { SkipBefore = range.From, RefillBefore = range.To, StopAt = range.To }, cancel);
            while (reader.Frames.TryReadBlocking(out var frame, cancel))
                Emit(new DecodeOutput(DecodeEventKind.Frame, reader.Item, -1, frame, null, _start.Turn, _start.NextWorkItem), cancel);
        }
    }

    /// <summary>Sends a resumed lane's refill frames ahead of the merge, so they take no turns.</summary>
    private void DrainRefill(FileLane lane, CancellationToken cancel)
    {
        while (lane.Reader.Frames.TryReadBlocking(out var frame, cancel))
        {
            if (!frame.Refill)
            {
                lane.Pending = frame;
                return;
            }
            Emit(new DecodeOutput(DecodeEventKind.Frame, lane.Item, lane.Index, frame, null, _start.Turn, _start.NextWorkItem), cancel);
        }
    }

    private void StartNext(int lane, ref int nextWorkItem, int turn, CancellationToken cancel)
    {
        _lanes[lane] = null;
        if (nextWorkItem >= _schedule.Count) return;
        var item = _schedule[nextWorkItem++];
        _lanes[lane] = FileLane.Fresh(item, lane, Plan(item), _settings.Size, _frameReady, DisplayFor(lane), cancel);
        Emit(new DecodeOutput(DecodeEventKind.SourceStarted, item, lane, null, null, turn, nextWorkItem), cancel);
    }

    private void StopAll(string why, int nextWorkItem, int turn, CancellationToken cancel)
    {
        _log.LogInformation("decode: {Why} after {Frames} frames; stopping the sources", why, _framesDelivered);
        foreach (var lane in _lanes)
        {
            if (lane is null) continue;
            lane.Reader.Stop();
            var outcome = Finish(lane) with { Stopped = true };
            Emit(new DecodeOutput(DecodeEventKind.SourceEnded, lane.Item, lane.Index, null, outcome, turn, nextWorkItem), cancel);
            _lanes[lane.Index] = null;
        }
        foreach (var live in _live) live.Close();
    }

    private static DecodeOutcome Finish(FileLane lane)
    {
        var outcome = lane.Reader.Outcome.GetAwaiter().GetResult();
        lane.Reader.Dispose();
        // The reader counts frames it delivered in this process; a resumed lane started mid-item.
        return outcome with { FramesDelivered = lane.Delivered };
    }

    private InputPlan Plan(DecodeWorkItem item) => FfmpegInputs.For(item.Source, _settings, item.Rate);

    private void Emit(DecodeOutput output, CancellationToken cancel)
    {
        if (!Output.Write(output, cancel)) output.Frame?.Release();
    }
}
