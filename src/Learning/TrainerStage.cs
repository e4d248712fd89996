using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using VideoSsl.Engine;
using VideoSsl.Engine.Distributed;
using VideoSsl.Messages.Overlay;
using VideoSsl.Learning.Overlay;
using VideoSsl.Sampling;

namespace VideoSsl.Learning;

/// <summary>
/// Stage 3 of the pipeline: takes batches from the sampler, trains one step on each, and writes checkpoints every
/// <see cref="TrainerSettings.CheckpointEvery"/> steps and when it stops, plus best.ckpt whenever the smoothed
/// training signal is the best so far. A stop request ends the loop between steps, never inside one, and the
/// final checkpoint is written even when an upstream stage failed.
///
/// A batch whose loss is not finite changes nothing and is logged. After <see cref="RollBackAfter"/> such batches
/// in a row the model returns to the last good checkpoint and the learning rate is halved; after
/// <see cref="GiveUpAfter"/> the run stops with an error. Weights that are not finite are never checkpointed.
/// </summary>
public sealed class TrainerStage : ConsumingStage<TrainingBatch>
{
    private readonly TrainingSession _session;
    private readonly Action<TrainingBatch> _giveBack;
    private readonly CheckpointStore? _checkpoints;
    private readonly string _runConfigJson;
    private readonly int _frameSize;
    private readonly TrainerSettings _settings;
    private readonly long? _maxSteps;
    private readonly CancellationToken _stopBetweenSteps;
    private readonly ILogger _log;
    private SamplerState? _lastState;
    private double? _lastLoss;
    private long _lastSavedStep;
    private int _nonFiniteInARow;
    private Checkpoint? _lastGood;
    private double? _smoothedLossNorm;
    private double? _smoothedSpread;
    private bool _warnedCollapse;
    private bool _saveFailed;

    public const int RollBackAfter = 3;
    public const int GiveUpAfter = 12;

    public TrainerStage(TrainingSession session, Edge<TrainingBatch> input, Action<TrainingBatch> giveBack,
        CheckpointStore? checkpoints, string runConfigJson, int frameSize, TrainerSettings settings, long? maxSteps,
        CancellationToken stopBetweenSteps, ILogger log) : base("train", input)
    {
        _session = session;
        _giveBack = giveBack;
        _checkpoints = checkpoints;
        _runConfigJson = runConfigJson;
        _frameSize = frameSize;
        _settings = settings;
        _maxSteps = maxSteps;
        _stopBetweenSteps = stopBetweenSteps;
        _log = log;
        _lastSavedStep = session.Step;
    }

    /// <summary>Raised on the trainer's thread after every step.</summary>
    public event Action<StepResult>? StepCompleted;

    /// <summary>Raised on the trainer's thread after a checkpoint is written (path, step).</summary>
    public event Action<string, long>? CheckpointSaved;

    public string? LastCheckpoint { get; private set; }

    /// <summary>Probes the newest frame for the overlay after every step (and while paused), on this thread, which owns the model.</summary>
    public OverlayProbe? Probe { get; init; }

    /// <summary>Measures the encoder on held-out clips every few steps; best.ckpt then follows its balanced AUC instead of the training signal.</summary>
    public IQualityMonitor? Monitor { get; init; }

    /// <summary>The overlay's pause switch (space): no steps while it is set.</summary>
    public OverlayFeed? Overlay { get; init; }

    /// <summary>
    /// The ranks this trainer steps with. Before every step they agree: any rank asked to stop (a limit, Ctrl+C,
    /// SIGTERM) stops them all at the same step; a rank whose files have ended steps idle, adding no gradient, until
    /// every rank's have; then all stop. So no rank waits in a collective for one that has left.
    /// </summary>
    public World World { get; init; } = new SingleProcess();

    protected override void Run(CancellationToken cancel)
    {
        Exception? failure = null;
        _lastGood = _session.ToCheckpoint(_runConfigJson, null, null, _frameSize);   // the starting point, in memory
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancel, _stopBetweenSteps);
        try
        {
            while (true)
            {
                bool wantsMore = (_maxSteps is not { } max || _session.Step < max) && !stop.IsCancellationRequested;
                if (!wantsMore && !World.IsDistributed) break;
                if (wantsMore && Overlay is { Paused: true })
                {
                    Probe?.Update(_session.EmbeddingModel, _session.Device);
                    stop.Token.WaitHandle.WaitOne(TimeSpan.FromMilliseconds(30));
                    continue;
                }
                TrainingBatch? batch = null;
                try
                {
                    if (wantsMore && NextBatch(out var next, stop.Token)) batch = next;
                }
                catch (OperationCanceledException)
                {
                }
                if (World.IsDistributed && !AllGoOn(wantsMore && !stop.IsCancellationRequested, batch?.Count ?? 0))
                {
                    if (batch is not null) _giveBack(batch);
                    break;
                }
                if (batch is null && !World.IsDistributed) break;
                TrainStep(batch);
                Probe?.Update(_session.EmbeddingModel, _session.Device);
            }
        }
        catch (Exception e)
        {
            failure = e;
        }
        if (_session.Step > _lastSavedStep && !_saveFailed) SaveCheckpoint(final: true);
        if (failure is not null) ExceptionDispatchInfo.Throw(failure);
    }

    /// <summary>
    /// The next batch; while none is ready (buffers filling, a live source between frames), the overlay's probe
    /// keeps the heatmaps following the video.
    /// </summary>
    private bool NextBatch(out TrainingBatch batch, CancellationToken cancel)
    {
        if (Probe is null) return Input.TryReadBlocking(out batch, cancel);
        while (!Input.Reader.TryRead(out batch!))
        {
            var ready = Input.Reader.WaitToReadAsync(cancel).AsTask();
            if (!ready.Wait(TimeSpan.FromMilliseconds(30), cancel))
            {
                Probe.Update(_session.EmbeddingModel, _session.Device);
                continue;
            }
            if (!ready.Result) return false;
        }
        return true;
    }

    /// <summary>One allreduce of the votes: true when no rank asked to stop and some rank has a batch (the world's pairs are counted on the way).</summary>
    private bool AllGoOn(bool goOn, int pairs)
    {
        Span<float> votes = [goOn ? 0 : 1, pairs > 0 ? 1 : 0, pairs];
        World.SumInPlace(votes);
        _worldPairs = (int)votes[2];
        return votes[0] == 0 && votes[1] > 0;
    }

    private int _worldPairs;

    /// <param name="batch">Null for a rank stepping idle with the others (its files have ended).</param>
    private void TrainStep(TrainingBatch? batch)
    {
        StepResult result;
        try
        {
            using (Counters.Busy()) result = batch is null ? _session.TrainIdle() : _session.Train(batch);
            _stepSecondsSinceMeasure += result.Seconds;
            if (batch is not null) Counters.CountIn(2L * batch.Count);
            if (result.Applied && batch is not null) _lastState = batch.State;
        }
        finally
        {
            if (batch is not null) _giveBack(batch);
        }

        if (result.Applied)
        {
            _nonFiniteInARow = 0;
            if (batch is not null) _lastLoss = result.Loss;
            if (double.IsFinite(result.LossNorm))
                _smoothedLossNorm = _smoothedLossNorm is { } s ? 0.95 * s + 0.05 * result.LossNorm : result.LossNorm;
            WatchForCollapse(result);
            Counters.CountOut();
        }
        else
        {
            Counters.CountDropped();
            _nonFiniteInARow++;
            _log.LogWarning("train: loss was not finite after step {Step}; the batch was skipped", result.Step);
            if (_nonFiniteInARow >= GiveUpAfter)
                throw new UserError($"training diverged: {_nonFiniteInARow} batches in a row had a non-finite loss even after rolling back; lower --lr");
            if (_nonFiniteInARow % RollBackAfter == 0 && _lastGood is not null)
            {
                _session.SetLearningRate(_session.LearningRate / 2);
                _session.RollBack(_lastGood);
                _log.LogWarning("train: {Count} non-finite losses in a row: rolled back to step {Step} and cut the learning rate to {Rate}",
                    _nonFiniteInARow, _session.Step, _session.LearningRate);
            }
        }
        if (result.Applied && batch is not null && Monitor is { } monitor && _session.Step % monitor.Every == 0) result = Measure(monitor, result);
        if (World.IsDistributed) result = result with { WorldPairs = _worldPairs };
        if (batch is not null) StepCompleted?.Invoke(result);   // an idle rank's step has no loss to log
        if (World.IsDistributed && _log.IsEnabled(LogLevel.Debug))
            _log.LogDebug("train: rank {Rank} step {Step} {Kind} weights {Hash}", World.Rank, _session.Step, batch is null ? "idle" : "batch", _session.WeightsHash());
        if (result.Applied && _session.Step % _settings.CheckpointEvery == 0) SaveCheckpoint(final: false);
    }

    /// <summary>The monitor's numbers for this step, and best.ckpt when they are the best so far.</summary>
    private StepResult Measure(IQualityMonitor monitor, StepResult result)
    {
        var scores = monitor.Measure(_session.EmbeddingModel, _session.Device);
        _log.LogInformation("train: held-out at step {Step}: AUC {Auc:0.000}, tau {Tau:0.000}, mAP {Map:0.000} ({Seconds:0.0} s, {Share:0} % of the steps' time since the last)",
            _session.Step, scores.Auc, scores.Tau, scores.MeanAveragePrecision, scores.Seconds, 100 * scores.Seconds / Math.Max(1e-9, _stepSecondsSinceMeasure));
        _stepSecondsSinceMeasure = 0;
        try
        {
            if (double.IsFinite(scores.Auc) && _session.WeightsAreFinite())
                _checkpoints?.SaveIfBest(_session.ToCheckpoint(_runConfigJson, _lastState, _lastLoss, _frameSize, scores.CheckpointScore, CheckpointInfo.HeldOutScore));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogError("train: best checkpoint '{Path}' could not be written ({Message})", _checkpoints!.BestPath, e.Message);
        }
        return result with { Quality = scores };
    }

    private double _stepSecondsSinceMeasure;

    /// <summary>
    /// Unit vectors spread evenly over D dimensions have a standard deviation of about 1/sqrt(D) per dimension; far
    /// below that, with anchors all alike, every frame is being mapped to the same point and nothing is learned.
    /// </summary>
    private void WatchForCollapse(StepResult result)
    {
        if (!double.IsFinite(result.EmbeddingStd)) return;
        _smoothedSpread = _smoothedSpread is { } s ? 0.9 * s + 0.1 * result.EmbeddingStd : result.EmbeddingStd;
        double even = 1 / Math.Sqrt(_settings.Model.EmbeddingDim);
        bool collapsed = _smoothedSpread < 0.2 * even && result.MeanSimilarity > 0.9;
        if (collapsed && !_warnedCollapse)
            _log.LogWarning("train: the embeddings are collapsing (spread {Spread:0.0000} per dimension, evenly spread would be {Even:0.0000}; anchors {Similarity:0.00} alike); try a higher --temperature, a lower --lr or milder augmentation",
                _smoothedSpread, even, result.MeanSimilarity);
        _warnedCollapse = collapsed;
    }

    /// <summary>
    /// Writes the step's checkpoint (and best.ckpt when it is the best so far). A checkpoint that cannot be written
    /// (a full disk, a failing device) leaves the previous one as it was: during the run that stops training with
    /// one line naming both files; at the very end it is reported and the run ends as it would have.
    /// </summary>
    private void SaveCheckpoint(bool final)
    {
        try
        {
            if (!_session.WeightsAreFinite())
            {
                _log.LogError("train: weights are not finite at step {Step}; no checkpoint written", _session.Step);
                return;
            }
            // With the monitor on, best.ckpt follows its held-out numbers (see Measure), not the training signal.
            var checkpoint = _session.ToCheckpoint(_runConfigJson, _lastState, _lastLoss, _frameSize, Monitor is null ? _smoothedLossNorm : null);
            // Every rank keeps the checkpoint in memory (a roll-back after non-finite losses returns all ranks to
            // the same step); rank 0 alone writes it.
            _lastGood = checkpoint;
            _lastSavedStep = _session.Step;
            if (_checkpoints is null) return;
            LastCheckpoint = _checkpoints.Save(checkpoint);
            _checkpoints.SaveIfBest(checkpoint);
            CheckpointSaved?.Invoke(LastCheckpoint, _session.Step);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _saveFailed = true;
            string? previous = LastCheckpoint ?? _checkpoints!.Existing().LastOrDefault();
            string message = $"checkpoint '{_checkpoints!.PathFor(_session.Step)}': could not be written ({e.Message})" +
                (previous is null ? "" : $"; the previous one, '{previous}', is intact");
            if (!final) throw new UserError(message + "; training stopped", e);
            _log.LogError("train: {Message}", message);
        }
    }
}
