using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using VideoSsl.Engine;

namespace VideoSsl.Decode;

/// <summary>
/// Stage 1 of the pipeline. Runs up to <see cref="DecodeSettings.ParallelSources"/> FFmpeg processes ("lanes"),
/// each on one work item, and merges their frames into one bounded output channel. The merge takes one frame from
/// each lane in turn, so the order of the output depends only on the sources, never on which process happened to
/// be faster: two runs with the same seed see the same frames in the same order, and a resumed run can restart
/// the merge exactly where a checkpoint left it. When a lane's work item ends, the lane takes the next item of
/// the schedule at once. File sources are back-pressured: a full output channel holds every FFmpeg process back.
/// </summary>
public sealed class DecodeStage : Stage
{
    private readonly IReadOnlyList<DecodeWorkItem> _schedule;
    private readonly DecodeSettings _settings;
    private readonly DecodeResumePoint _start;
    private readonly long? _frameBudget;
    private readonly ILogger _log;
    private readonly Channel<DecodeOutput> _output;
    private readonly Lane?[] _lanes;
    private long _framesDelivered;

    /// <param name="frameBudget">Stop after delivering this many (non-replay) frames in total, if given.</param>
    public DecodeStage(IReadOnlyList<DecodeWorkItem> schedule, DecodeSettings settings, DecodeResumePoint start,
        long? frameBudget, ILogger log) : base("decode")
    {
        _schedule = schedule;
        _settings = settings;
        _start = start;
        _frameBudget = frameBudget;
        _log = log;
        _lanes = new Lane?[Math.Max(1, start.Lanes.Count)];
        _output = ChannelExtensions.CreateBackPressured<DecodeOutput>(settings.QueueFrames);
    }

    public ChannelReader<DecodeOutput> Output => _output.Reader;

    /// <summary>Frames delivered so far (replays excluded).</summary>
    public long FramesDelivered => Interlocked.Read(ref _framesDelivered);

    private int LaneCount => _lanes.Length;

    protected override void Run(CancellationToken cancel)
    {
        FfmpegTools.EnsureInstalled();
        int nextWorkItem = _start.NextWorkItem;
        int turn = _start.Turn;
        try
        {
            Refill(cancel);
            for (int lane = 0; lane < LaneCount; lane++)
            {
                if (_start.Lanes.ElementAtOrDefault(lane) is not { } resume) continue;
                _lanes[lane] = Lane.Resume(_schedule[resume.WorkItem], lane, resume, _settings.Size, cancel);
                DrainReplay(_lanes[lane]!, cancel);
            }
            for (int lane = 0; lane < LaneCount; lane++)
                if (_lanes[lane] is null) StartNext(lane, ref nextWorkItem, turn, cancel);

            while (_lanes.Any(l => l is not null))
            {
                var lane = _lanes[turn];
                if (lane is null)
                {
                    turn = (turn + 1) % LaneCount;
                    continue;
                }
                if (lane.TryTakeFrame(out var frame, cancel))
                {
                    if (_frameBudget is { } budget && _framesDelivered >= budget)
                    {
                        frame.Release();
                        StopAll("frame limit reached", nextWorkItem, turn, cancel);
                        break;
                    }
                    turn = (turn + 1) % LaneCount;
                    Counters.CountOut();
                    Interlocked.Increment(ref _framesDelivered);
                    lane.Delivered++;
                    Emit(new DecodeOutput(DecodeEventKind.Frame, lane.Item, lane.Index, frame, null, turn, nextWorkItem), cancel);
                }
                else
                {
                    // The lane's item is over: report it and hand the lane the next item, in one step, so no
                    // checkpoint can fall between the two.
                    var outcome = Finish(lane);
                    Emit(new DecodeOutput(DecodeEventKind.SourceEnded, lane.Item, lane.Index, null, outcome, turn, nextWorkItem), cancel);
                    StartNext(lane.Index, ref nextWorkItem, turn, cancel);
                }
            }
        }
        finally
        {
            foreach (var lane in _lanes)
            {
                lane?.Pending?.Release();
                lane?.Reader.Dispose();
            }
        }
    }

    /// <summary>Re-decodes the frames a resumed sampler needs back in its buffers before anything new.</summary>
    private void Refill(CancellationToken cancel)
    {
        foreach (var range in _start.Refill)
        {
            using var reader = FfmpegFrameReader.Start(_schedule[range.WorkItem], lane: -1, _settings.Size, cancel,
                skipBefore: range.From, replayBefore: range.To, stopAt: range.To);
            while (reader.Frames.TryReadBlocking(out var frame, cancel))
                Emit(new DecodeOutput(DecodeEventKind.Frame, reader.Item, -1, frame, null, _start.Turn, _start.NextWorkItem), cancel);
        }
    }

    /// <summary>Sends a resumed lane's replay frames ahead of the merge, so they take no turns.</summary>
    private void DrainReplay(Lane lane, CancellationToken cancel)
    {
        while (lane.Reader.Frames.TryReadBlocking(out var frame, cancel))
        {
            if (!frame.Replay)
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
        _lanes[lane] = Lane.Fresh(item, lane, _settings.Size, cancel);
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
    }

    private DecodeOutcome Finish(Lane lane)
    {
        var outcome = lane.Reader.Outcome.GetAwaiter().GetResult();
        lane.Reader.Dispose();
        // The reader counts frames it delivered in this process; a resumed lane started mid-item.
        return outcome with { FramesDelivered = lane.Delivered };
    }

    private void Emit(DecodeOutput output, CancellationToken cancel)
    {
        if (!_output.Writer.WriteBlocking(output, cancel)) output.Frame?.Release();
    }

    protected override void OnStopped() => _output.Writer.TryComplete(Completion.Exception?.InnerException);

    /// <summary>One FFmpeg process and what the merge knows about it.</summary>
    private sealed class Lane
    {
        private Lane(DecodeWorkItem item, int index, FfmpegFrameReader reader, long delivered)
        {
            Item = item;
            Index = index;
            Reader = reader;
            Delivered = delivered;
        }

        public DecodeWorkItem Item { get; }
        public int Index { get; }
        public FfmpegFrameReader Reader { get; }

        /// <summary>Frames of this item delivered downstream, counted across a resume.</summary>
        public long Delivered { get; set; }

        /// <summary>A frame read ahead while draining replays, handed out first.</summary>
        public VideoFrame? Pending { get; set; }

        public bool TryTakeFrame(out VideoFrame frame, CancellationToken cancel)
        {
            if (Pending is { } pending)
            {
                Pending = null;
                frame = pending;
                return true;
            }
            return Reader.Frames.TryReadBlocking(out frame, cancel);
        }

        public static Lane Fresh(DecodeWorkItem item, int index, int size, CancellationToken cancel) =>
            new(item, index, FfmpegFrameReader.Start(item, index, size, cancel), 0);

        /// <summary>A lane restarted after a resume: refill frames come first, flagged as replay, then new frames.</summary>
        public static Lane Resume(DecodeWorkItem item, int index, LaneResume resume, int size, CancellationToken cancel) =>
            new(item, index, FfmpegFrameReader.Start(item, index, size, cancel, skipBefore: resume.RefillFrom, replayBefore: resume.NextFrame), resume.NextFrame);
    }
}
