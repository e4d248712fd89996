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
public sealed class DecodeStage : ProducingStage<DecodeOutput>, ILaneSet
{
    private readonly IReadOnlyList<DecodeWorkItem> _schedule;
    private readonly IReadOnlyList<DecodeWorkItem> _liveItems;
    private readonly DecodeSettings _settings;
    private readonly DecodeResumePoint _start;
    private readonly long? _frameBudget;
    private readonly ILogger _log;
    private readonly FileLane?[] _lanes;
    private readonly Queue<FileLane>[] _ahead;   // per lane, lanes started before their turn, for its next work items in order
    private readonly ScheduleRuns _runs;
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
        _ahead = _lanes.Select(_ => new Queue<FileLane>()).ToArray();
        _runs = new ScheduleRuns(schedule, _lanes.Length, ShortFileBatch.Fits);
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
        var cursor = new MergeCursor(_start.NextWorkItem, _start.Turn);
        try
        {
            Refill(cancel);
            for (int lane = 0; lane < LaneCount; lane++)
            {
                if (_start.Lanes.ElementAtOrDefault(lane) is not { } resume) continue;
                _lanes[lane] = FileLane.Resume(_schedule[resume.WorkItem], lane, resume, Plan(_schedule[resume.WorkItem]), _settings.Size, DisplayFor(lane), cancel);
                _lanes[lane]!.RunEnd = ResumedRunEnd(resume);
                DrainRefill(_lanes[lane]!, cancel);
            }
            for (int lane = 0; lane < LaneCount; lane++)
                if (_lanes[lane] is null) StartNext(lane, cursor, cancel);
            foreach (var item in _liveItems)
            {
                int index = LaneCount + _live.Count;
                var context = new LiveLaneContext(_settings, _log, Plan(item), () => _frameReady.Release(), () => Counters.CountDropped(),
                    () => Interlocked.Increment(ref _reconnects), DisplayFor(index), RecentFolder);
                var live = new LiveLane(item, index, context, Clock.Source);
                _live.Add(live);
                Emit(new DecodeOutput(DecodeEventKind.SourceStarted, item, index, null, null, cursor.Turn, cursor.NextWorkItem), cancel);
            }
            LaneMerge.For(anyLive: _live.Count > 0).Run(this, cursor, cancel);
        }
        finally
        {
            foreach (var lane in _lanes.Concat(_ahead.SelectMany(a => a)))
            {
                lane?.Pending?.Release();
                lane?.Reader.Dispose();
            }
            foreach (var lane in _live) lane.Reader?.Dispose();
            _recent.DropEmpty();
        }
    }

    IReadOnlyList<FileLane?> ILaneSet.Files => _lanes;
    IReadOnlyList<LiveLane> ILaneSet.Live => _live;

    void ILaneSet.Tend(CancellationToken cancel)
    {
        foreach (var lane in _live)
        {
            lane.StartIfDue(cancel);
            lane.WarnIfSilent();
        }
        _recent.Prune();
    }

    void ILaneSet.LiveLaneEnded(LiveLane lane) => lane.Dropped(onlySource: _liveItems.Count + _schedule.Count == 1);

    void ILaneSet.WaitForAnyFrame(CancellationToken cancel) =>
        _frameReady.Wait(_live.Select(l => l.WaitBeforeRetry).Prepend(TimeSpan.FromMilliseconds(250)).Min(), cancel);

    /// <summary>Sends one frame downstream; false when the frame budget is spent (everything is then stopped).</summary>
    bool ILaneSet.Deliver(DecodeWorkItem item, int lane, VideoFrame frame, MergeCursor cursor, CancellationToken cancel)
    {
        if (_frameBudget is { } budget && _framesDelivered >= budget)
        {
            frame.Release();
            StopAll("frame limit reached", cursor, cancel);
            return false;
        }
        cursor.Turn = (cursor.Turn + 1) % (LaneCount + _live.Count);
        Counters.CountOut();
        Interlocked.Increment(ref _framesDelivered);
        Emit(new DecodeOutput(DecodeEventKind.Frame, item, lane, frame, null, cursor.Turn, cursor.NextWorkItem), cancel);
        return true;
    }

    /// <summary>
    /// A file lane's item is over: report it and hand the lane the next item, in one step, so no checkpoint can
    /// fall between the two.
    /// </summary>
    void ILaneSet.FinishFileLane(FileLane lane, MergeCursor cursor, CancellationToken cancel)
    {
        var outcome = Finish(lane);
        Emit(new DecodeOutput(DecodeEventKind.SourceEnded, lane.Item, lane.Index, null, outcome, cursor.Turn, cursor.NextWorkItem), cancel);
        StartNext(lane.Index, cursor, cancel);
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

    /// <summary>
    /// Hands a lane its next work item: the next of the run of items it owns, else the next run in the schedule
    /// (<see cref="ScheduleRuns"/>). A lane owns a whole run so that the run's short files can share one FFmpeg process
    /// (<see cref="ShortFileBatch"/>); which lane takes which run is decided here, in the merge's fixed order, so two
    /// runs of the same schedule still see the same frames in the same order.
    /// </summary>
    private void StartNext(int lane, MergeCursor cursor, CancellationToken cancel)
    {
        var previous = _lanes[lane];
        _lanes[lane] = null;
        int next, runEnd;
        if (previous is not null && previous.Item.Index + 1 < previous.RunEnd)
        {
            next = previous.Item.Index + 1;
            runEnd = previous.RunEnd;
        }
        else
        {
            if (cursor.NextWorkItem >= _schedule.Count) return;
            next = cursor.NextWorkItem;
            runEnd = _runs.EndOf(next);
            cursor.NextWorkItem = runEnd;
        }
        var item = _schedule[next];
        var ahead = _ahead[lane];
        if (ahead.TryPeek(out var ready) && !ReferenceEquals(ready.Item, item))
        {
            DropAhead(ahead);   // started for other items: never the case, and never left running
        }
        if (ahead.Count == 0 && DisplayFor(lane) is null) StartRun(lane, next, runEnd, cancel);
        _lanes[lane] = ahead.TryDequeue(out var started) ? started : FileLane.Fresh(item, lane, Plan(item), _settings.Size, _frameReady, DisplayFor(lane), cancel);
        _lanes[lane]!.RunEnd = runEnd;
        Emit(new DecodeOutput(DecodeEventKind.SourceStarted, item, lane, null, null, cursor.Turn, cursor.NextWorkItem), cancel);
        // One process ahead at most: the next run starts when the present one is down to its last files (a batch's
        // FFmpeg takes a while to open its files, longer than reading one short clip). Only the next run in the
        // schedule can be started ahead, so only with one lane, which is sure to take it. The queue holds the rest
        // of this lane's run, so the item after it is the next run's first exactly when nothing of that run is
        // queued yet.
        int following = next + 1 + ahead.Count;
        if (ReadsAhead && following == cursor.NextWorkItem && following < _schedule.Count && ahead.Count <= ShortFileBatch.MaxFiles / 2)
            StartRun(lane, following, _runs.EndOf(following), cancel);
    }

    /// <summary>
    /// With one file lane (embed, eval, --parallel-sources 1) and no overlay to feed, the next run's FFmpeg starts
    /// while the present one is read. A process's start and its container's opening cost about as much as decoding
    /// a short clip; in a folder of 3 s clips they were a third of the time. Frames started ahead wait in their own
    /// queues (FFmpeg blocks on its pipe) until the lane takes them, so the order of the frames does not change.
    /// </summary>
    private bool ReadsAhead => LaneCount == 1 && _liveItems.Count == 0 && Overlay is null;

    /// <summary>Starts the items [<paramref name="first"/>, <paramref name="end"/>) of a run for a lane: one batch for short files, else a process of its own.</summary>
    private void StartRun(int lane, int first, int end, CancellationToken cancel)
    {
        if (end - first < 2)
        {
            var item = _schedule[first];
            _ahead[lane].Enqueue(FileLane.Fresh(item, lane, Plan(item), _settings.Size, _frameReady, null, cancel));
            return;
        }
        var batch = Enumerable.Range(first, end - first).Select(i => (_schedule[i], Plan(_schedule[i]))).ToList();
        foreach (var file in ShortFileBatch.Start(batch, lane, _settings.Size, () => _frameReady.Release(), cancel).Files)
            _ahead[lane].Enqueue(FileLane.Batched(file, lane));
    }

    private static void DropAhead(Queue<FileLane> ahead)
    {
        while (ahead.TryDequeue(out var started))
        {
            started.Pending?.Release();
            started.Reader.Dispose();
        }
    }

    /// <summary>
    /// Where a resumed lane's run ends: its item's run, but never past an item another lane holds or the next run
    /// to hand out (a checkpoint written before lanes owned runs had its lanes on neighbouring items).
    /// </summary>
    private int ResumedRunEnd(LaneResume resume) =>
        _start.Lanes.Where(l => l is not null && l.WorkItem > resume.WorkItem).Select(l => l!.WorkItem)
            .Append(_runs.EndOf(resume.WorkItem)).Append(Math.Max(_start.NextWorkItem, resume.WorkItem + 1)).Min();

    private void StopAll(string why, MergeCursor cursor, CancellationToken cancel)
    {
        _log.LogInformation("decode: {Why} after {Frames} frames; stopping the sources", why, _framesDelivered);
        foreach (var lane in _lanes)
        {
            if (lane is null) continue;
            lane.Reader.Stop();
            var outcome = Finish(lane) with { Stopped = true };
            Emit(new DecodeOutput(DecodeEventKind.SourceEnded, lane.Item, lane.Index, null, outcome, cursor.Turn, cursor.NextWorkItem), cancel);
            _lanes[lane.Index] = null;
        }
        foreach (var live in _live) live.Close();
        foreach (var lane in _ahead.SelectMany(a => a)) lane.Reader.Stop();
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
