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
    private readonly Queue<(FileLane Lane, int Process)> _ahead = new();   // lanes started before their turn, for the next work items in order
    private int _processesAhead;   // processes started by StartAhead so far, numbering them
    private int _readingProcess = -1;   // the process of the lane being read
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
        var cursor = new MergeCursor(_start.NextWorkItem, _start.Turn);
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
            foreach (var lane in _lanes.Concat(_ahead.Select(a => a.Lane)))
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

    private void StartNext(int lane, MergeCursor cursor, CancellationToken cancel)
    {
        _lanes[lane] = null;
        if (cursor.NextWorkItem >= _schedule.Count) return;
        int next = cursor.NextWorkItem++;
        var item = _schedule[next];
        if (_ahead.TryPeek(out var ready) && !ReferenceEquals(ready.Lane.Item, item))
        {
            DropAhead();   // started for other items: never the case with one lane, and never left running
        }
        if (_ahead.Count == 0 && ReadsAhead) StartAhead(next, cancel);
        if (_ahead.TryDequeue(out var started))
        {
            _lanes[lane] = started.Lane;
            _readingProcess = started.Process;
        }
        else
        {
            _lanes[lane] = FileLane.Fresh(item, lane, Plan(item), _settings.Size, _frameReady, DisplayFor(lane), cancel);
        }
        Emit(new DecodeOutput(DecodeEventKind.SourceStarted, item, lane, null, null, cursor.Turn, cursor.NextWorkItem), cancel);
        // One process ahead at most: the next starts when the present one is down to its last files (a batch's
        // FFmpeg takes a while to open its files, longer than reading one short clip).
        if (ReadsAhead && _ahead.Count <= ShortFileBatch.MaxFiles / 2 && _ahead.All(a => a.Process == _readingProcess))
            StartAhead(next + 1 + _ahead.Count, cancel);
    }

    /// <summary>
    /// With one file lane (embed, eval, --parallel-sources 1) and no overlay to feed, the work items are read in
    /// order and the next ones are started before their turn: the next FFmpeg starts while the last item of the
    /// present one is read, and consecutive short files share one process (<see cref="ShortFileBatch"/>). A process's
    /// start and its container's opening cost about as much as decoding a short clip; in a folder of 3 s clips they
    /// were a third of the time. Frames started ahead wait in their own queues (FFmpeg blocks on its pipe) until the
    /// lane takes them, so the order of the frames does not change.
    /// </summary>
    private bool ReadsAhead => LaneCount == 1 && _liveItems.Count == 0 && Overlay is null;

    private void StartAhead(int workItem, CancellationToken cancel)
    {
        if (workItem >= _schedule.Count) return;
        var batch = new List<(DecodeWorkItem, InputPlan)>();
        for (int next = workItem; next < _schedule.Count && batch.Count < ShortFileBatch.MaxFiles; next++)
        {
            var item = _schedule[next];
            var plan = Plan(item);
            if (!ShortFileBatch.Fits(item, plan)) break;
            batch.Add((item, plan));
        }
        if (batch.Count < 2)
        {
            var item = _schedule[workItem];
            _ahead.Enqueue((FileLane.Fresh(item, 0, Plan(item), _settings.Size, _frameReady, null, cancel), _processesAhead++));
            return;
        }
        int process = _processesAhead++;
        foreach (var file in ShortFileBatch.Start(batch, 0, _settings.Size, () => _frameReady.Release(), cancel).Files)
            _ahead.Enqueue((FileLane.Batched(file, 0), process));
    }

    private void DropAhead()
    {
        while (_ahead.TryDequeue(out var ahead))
        {
            var lane = ahead.Lane;
            lane.Pending?.Release();
            lane.Reader.Dispose();
        }
    }

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
        foreach (var (lane, _) in _ahead) lane.Reader.Stop();
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
