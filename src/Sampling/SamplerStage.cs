using System.Threading.Channels;
using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Sampling;

/// <summary>
/// Stage 2 of the pipeline. Keeps a ring of recent frames per source and turns them into batches of
/// anchor/positive pairs for the trainer.
///
/// Pacing for file sources: every new frame earns <see cref="SamplerSettings.SamplesPerFrame"/> anchors of
/// credit, and a batch of b anchors spends b. The sampler reads no more frames while it waits for room in its
/// output, so the trainer's speed holds back decoding and every frame is used about that many times on average.
/// While the rings are still short, batches are smaller (fewer anchors fit at the required spacing); none is
/// formed below <see cref="SamplerSettings.EffectiveMinAnchors"/>, and credit saved up meanwhile is capped at about
/// one batch so a run does not start with a burst of steps on its first few seconds of video.
///
/// Every decision depends only on the order of the decoder's messages and the seeded random state, so the batches
/// are the same on every run, and the state saved with each batch lets a resumed run continue exactly.
///
/// Live sources are never held back: the sampler takes in every frame as it arrives, keeping the rings current,
/// and hands the trainer a new batch whenever it has room for one. A live frame that leaves its ring without ever
/// being used counts as dropped: the learner fell behind the source.
/// </summary>
public sealed class SamplerStage : RelayStage<DecodeOutput, TrainingBatch>
{
    private readonly SamplerSettings _settings;
    private readonly PairSampler _planner;
    private readonly BatchPool _pool;
    private readonly SeededRandom _random;
    private readonly List<FrameRing> _rings = [];
    private readonly LaneCursor?[] _lanes;
    private readonly int _frameSize;
    private readonly long _budgetFrames;
    private readonly double _creditCap;
    private double _credit;
    private long _framesIngested;
    private long _batches;
    private int _nextWorkItem;
    private int _turn;
    private double _longestSpan;
    private readonly bool _live;
    private readonly ReplayBuffer? _replay;

    /// <param name="schedule">The decode schedule (a resumed state names its work items).</param>
    /// <param name="live">Some source is live: batches are made as fast as the trainer takes them, without credit.</param>
    /// <param name="output">The edge to the trainer, made by the graph (by default --batch-queue batches).</param>
    public SamplerStage(Edge<DecodeOutput> input, SamplerSettings settings, int frameSize, int lanes,
        long seed, IReadOnlyList<DecodeWorkItem> schedule, SamplerState? resume, bool live = false, Edge<TrainingBatch>? output = null)
        : base("sample", input, output ?? new Edge<TrainingBatch>("batches", settings.BatchQueue))
    {
        _live = live;
        _replay = settings.Replay > 0
            ? new ReplayBuffer(settings.ReplaySize, settings.ReplayPolicy)
            : null;
        _settings = settings;
        _planner = new PairSampler(settings);
        _frameSize = frameSize;
        _pool = new BatchPool(settings.BatchQueue + 2, settings.Batch, frameSize, settings.Positives);
        _random = new SeededRandom(seed);
        _lanes = new LaneCursor?[lanes];
        _budgetFrames = Math.Max(2, (long)settings.BufferMegabytes * 1024 * 1024 / (frameSize * frameSize * 3));
        _creditCap = settings.Batch + settings.SamplesPerFrame;
        if (resume is not null) Restore(resume, schedule);
    }

    /// <summary>Gives a batch buffer back once the trainer is done with it.</summary>
    public void Return(TrainingBatch batch) => _pool.Return(batch);

    /// <summary>Raised on the sampler's thread when a source starts or ends (for progress and reports).</summary>
    public event Action<DecodeOutput>? SourceEvent;

    /// <summary>Frames that earned credit so far (refills excluded), counted across a resume.</summary>
    public long FramesIngested => Interlocked.Read(ref _framesIngested);

    /// <summary>The longest stretch of video any ring has held, in seconds (to explain a run that formed no batch).</summary>
    public double LongestSpan => Volatile.Read(ref _longestSpan);

    /// <summary>Frames the rings may hold per source at <paramref name="rate"/> frames per second.</summary>
    public int RingCapacity(double rate) =>
        (int)Math.Clamp(Math.Ceiling(_settings.EffectiveRingSeconds * rate) + 1, 2, Math.Max(2, _budgetFrames / Math.Max(1, _lanes.Length)));

    protected override void Run(CancellationToken cancel)
    {
        if (_live)
        {
            RunLive(cancel);
            return;
        }
        while (TakeInput(out var message, cancel))
        {
            using (Counters.Busy()) Ingest(message);
            if (message.Kind == DecodeEventKind.Frame && message.Frame is { Refill: false }) EmitWhileReady(cancel);
        }
        EmitWhileReady(cancel);   // the sources are over: spend what credit is left
    }

    /// <summary>The next decoder message; when none is queued, sleeps until the edge's burst of them is.</summary>
    private bool TakeInput(out DecodeOutput message, CancellationToken cancel)
    {
        if (Input.Reader.TryRead(out message!)) return true;
        Input.WaitForBurst(cancel);
        return Input.TryReadBlocking(out message, cancel);
    }

    /// <summary>Take in everything that has arrived, then give the trainer a batch if it has room, else wait for either.</summary>
    private void RunLive(CancellationToken cancel)
    {
        while (true)
        {
            while (Input.Reader.TryRead(out var message))
                using (Counters.Busy()) Ingest(message);
            if (Input.Reader.Completion.IsCompleted)
            {
                if (Input.Reader.Completion.IsFaulted) Input.Reader.Completion.GetAwaiter().GetResult();
                return;
            }
            int anchors = Math.Min(_settings.Batch, _planner.GuaranteedAnchors(_rings));
            bool ready = anchors >= _settings.EffectiveMinAnchors;
            if (ready && Output.Count < _settings.BatchQueue)
            {
                Counters.CountOut();
                Output.Write(MakeBatch(anchors, cancel), cancel);
                continue;
            }
            var arrival = Input.Reader.WaitToReadAsync(cancel).AsTask();
            if (ready) Task.WaitAny([arrival, Output.WaitForRoomAsync(cancel)], cancel);
            else arrival.Wait(cancel);
        }
    }

    private void Ingest(DecodeOutput message)
    {
        switch (message.Kind)
        {
            case DecodeEventKind.SourceStarted:
            {
                int existing = _rings.FindIndex(r => r.SourceId == message.Item.Source.Id);
                if (existing >= 0)
                {
                    _rings[existing].Clear();   // a new pass over the same video replaces the old one
                    _rings.RemoveAt(existing);
                }
                _rings.Add(new FrameRing(message.Item.Source.Id, message.Item.Index, RingCapacity(message.Item.Rate)));
                _lanes[message.Lane] = new LaneCursor(message.Item.Index, 0);
                _nextWorkItem = message.NextWorkItem;
                SourceEvent?.Invoke(message);
                break;
            }
            case DecodeEventKind.Frame:
            {
                var frame = message.Frame!;
                var ring = _rings.Find(r => r.WorkItem == frame.WorkItem);
                if (ring is null)
                {
                    frame.Release();
                    return;
                }
                if (ring.Add(frame) && _live) Counters.CountDropped();
                _longestSpan = Math.Max(_longestSpan, ring.Span);
                if (frame.Refill) return;
                if (_replay is not null && ring.Count >= 2 && frame.Pts - ring[ring.Count - 2].Pts <= _settings.PosWindow)
                    _replay.Offer(ring[ring.Count - 2], frame, _random);
                Counters.CountIn();
                Interlocked.Increment(ref _framesIngested);
                _credit = Math.Min(_credit + _settings.SamplesPerFrame, _creditCap);
                _lanes[message.Lane] = new LaneCursor(frame.WorkItem, frame.Index + 1);
                _turn = message.NextTurn;
                _nextWorkItem = message.NextWorkItem;
                EnforceBudget();
                break;
            }
            case DecodeEventKind.SourceEnded:
            {
                var ring = _rings.Find(r => r.WorkItem == message.Item.Index);
                if (ring is not null) ring.Active = false;
                if (message.Lane >= 0) _lanes[message.Lane] = null;
                SourceEvent?.Invoke(message);
                break;
            }
        }
    }

    /// <summary>Finished sources stay as extra anchors until the frame budget is reached; the oldest go first.</summary>
    private void EnforceBudget()
    {
        long held = _rings.Sum(r => (long)r.Count);
        while (held > _budgetFrames)
        {
            int oldest = _rings.FindIndex(r => !r.Active);
            if (oldest < 0) return;
            held -= _rings[oldest].Count;
            _rings[oldest].Clear();
            _rings.RemoveAt(oldest);
        }
    }

    private void EmitWhileReady(CancellationToken cancel)
    {
        while (true)
        {
            int anchors = Math.Min(_settings.Batch, _planner.GuaranteedAnchors(_rings));
            if (anchors < _settings.EffectiveMinAnchors || _credit < anchors) return;
            var batch = MakeBatch(anchors, cancel);
            _credit -= batch.Count;
            batch.State = CaptureState();
            Counters.CountOut();
            if (!Output.Write(batch, cancel)) return;
        }
    }

    /// <summary>A batch of <paramref name="anchors"/> pairs: from the rings, and the replay share from the replay buffer.</summary>
    private TrainingBatch MakeBatch(int anchors, CancellationToken cancel)
    {
        var batch = _pool.Rent(cancel);
        using (Counters.Busy())
        {
            int replayed = _replay is null ? 0 : Math.Min((int)(_settings.Replay * anchors), _replay.Count);
            var plan = _planner.Plan(_rings, _random, anchors - replayed);
            var older = replayed > 0
                ? _replay!.Draw(replayed, _random, plan.Pairs.Select(p => (p.Ring.SourceId, p.AnchorPts)).ToList(), _settings.AnchorSpacing)
                : [];
            _batches++;
            Fill(batch, plan, older, _settings.NegGap);
            batch.FramesIngested = _framesIngested;
        }
        return batch;
    }

    private static void Fill(TrainingBatch batch, BatchPlan plan, IReadOnlyList<ReplayPair> older, double negGap)
    {
        int fresh = plan.Count, n = fresh + older.Count;
        batch.Count = n;
        batch.NewestArrivalTicks = 0;
        for (int i = 0; i < fresh; i++)
        {
            var pair = plan.Pairs[i];
            var anchor = pair.Ring[pair.Anchor];
            anchor.Pixels.CopyTo(batch.Frame(i));
            anchor.Used = true;
            batch.NewestArrivalTicks = Math.Max(batch.NewestArrivalTicks, anchor.ArrivalTicks);
            for (int k = 0; k < batch.Positives; k++)
            {
                var positive = pair.Ring[pair.PositiveAt(k)];
                positive.Pixels.CopyTo(batch.Frame(batch.PositiveSlot(i, k)));
                positive.Used = true;
                batch.NewestArrivalTicks = Math.Max(batch.NewestArrivalTicks, positive.ArrivalTicks);
                batch.PositivePts[k * batch.MaxPairs + i] = positive.Pts;
            }
            batch.SourceIds[i] = pair.Ring.SourceId;
            batch.AnchorPts[i] = pair.AnchorPts;
        }
        for (int k = 0; k < older.Count; k++)
        {
            int i = fresh + k;
            older[k].Anchor.CopyTo(batch.Frame(i));
            older[k].Positive.CopyTo(batch.Frame(n + i));
            batch.SourceIds[i] = older[k].SourceId;
            batch.AnchorPts[i] = older[k].AnchorPts;
            batch.PositivePts[i] = older[k].PositivePts;
        }
        var (mask, masked) = older.Count == 0
            ? (plan.Mask, plan.MaskedPairs)
            : PairSampler.FalseNegativeMask(Enumerable.Range(0, n).Select(i => (batch.SourceIds[i], batch.AnchorPts[i], batch.PositivePts[i])).ToList(), negGap);
        Array.Copy(mask, batch.Mask, n * batch.Positives * n);
        batch.MaskedPairs = masked;
    }

    private SamplerState CaptureState() => new(
        _random.State, _credit, _framesIngested, _batches,
        _rings.Select(r => new RingState(r.SourceId, r.WorkItem, r.Count == 0 ? r.EndIndex : r.FirstIndex, r.EndIndex, r.Active)).ToList(),
        new DecodeCursor(_nextWorkItem, _turn, _lanes.ToList()));

    /// <summary>
    /// Restores counters, random state and the list of rings (empty, in their old order); the decode stage then
    /// re-delivers exactly the frames they held, flagged as refill.
    /// </summary>
    private void Restore(SamplerState state, IReadOnlyList<DecodeWorkItem> schedule)
    {
        _random.State = state.Random;
        _credit = state.Credit;
        _framesIngested = state.FramesIngested;
        _batches = state.Batches;
        _nextWorkItem = state.Decode.NextWorkItem;
        _turn = state.Decode.Turn;
        for (int i = 0; i < _lanes.Length && i < state.Decode.Lanes.Count; i++) _lanes[i] = state.Decode.Lanes[i];
        foreach (var r in state.Rings)
            _rings.Add(new FrameRing(r.SourceId, r.WorkItem, RingCapacity(schedule[r.WorkItem].Rate)) { Active = r.Active });
    }

    protected override void OnStopped()
    {
        base.OnStopped();
        foreach (var ring in _rings) ring.Clear();
    }
}
