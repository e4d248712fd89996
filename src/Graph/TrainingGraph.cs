using System.Text.Json;
using Microsoft.Extensions.Logging;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Engine.Distributed;
using VideoSsl.Graph.Outputs;
using VideoSsl.Learning;
using VideoSsl.Learning.Overlay;
using VideoSsl.Messages;
using VideoSsl.Messages.Overlay;
using VideoSsl.Sampling;

namespace VideoSsl.Graph;

/// <summary>
/// The training graph: decode -> frames -> sample -> batches -> train, each stage on its own thread, joined by
/// bounded edges, with the calling thread as the monitor (the "game loop"): it draws the overlay, reports progress a
/// few times a second, enforces the limits and, when the trainer is done, stops the other stages and collects their
/// faults. The run is planned first (<see cref="RunPlan"/>), stops for one of <see cref="StopPolicy"/>'s reasons, and
/// its summary comes from what <see cref="RunRecord"/> gathered.
/// </summary>
public sealed class TrainingGraph(ILoggerFactory logs)
{
    /// <summary>
    /// Makes the online quality monitor a configuration asks for (its clips decoded), or null; given by the commands
    /// that train. The sources, when given, are the training files' held-out tails (<see cref="MonitorSettings.HoldoutTail"/>).
    /// </summary>
    public Func<RunConfig, PreparedSources?, CancellationToken, IQualityMonitor?>? MonitorFactory { get; init; }

    private const double MonitorHz = 4;

    /// <summary>Frames the sampler waits for before it wakes, when only files are read.</summary>
    private const int FileFrameBurst = 8;

    private readonly ILogger _log = logs.CreateLogger("train");

    /// <param name="resume">The checkpoint to continue from (its weights, optimizer, step, and data position when the data is the same).</param>
    /// <param name="stop">Cancelled on Ctrl+C or SIGTERM: the current step finishes and a checkpoint is written.</param>
    /// <param name="view">The overlay, drawn by the monitor loop on this thread (which owns its GL context), or null.</param>
    /// <param name="world">
    /// The ranks of an MPI job, each running this graph on its own block of the files (split after the walk) and
    /// training one model with the others (see <see cref="TrainingSession"/>). Rank 0 alone takes the run-folder lock
    /// and writes config.json, checkpoints, metrics.jsonl and summary.json (its own loss; the frames of every rank);
    /// the other ranks never open the folder for writing. Under MPI a resume restores the weights, optimizer state
    /// and step, and each rank's data starts afresh from the first of its files.
    /// </param>
    public TrainingSummary Run(RunConfig config, Checkpoint? resume, bool overwrite, IRunObserver? observer, CancellationToken stop, IOverlayView? view = null, World? world = null)
    {
        config.Validated();
        world ??= new SingleProcess();
        var prepared = SourcePreparation.Prepare(config.Sources, config.Decode.Realtime, _log, stop, world.IsDistributed ? WorkShare.OfRank(world) : null);
        PreparedSources? tails = null;
        if (config.Monitor.HoldoutTail > 0)
        {
            if (prepared.Files.Count == 0 && world.IsRoot)
                throw new UserError("holdout-tail: the sources hold no video files to keep a tail of (live sources have no end); name --eval-source clips instead");
            (prepared, tails) = prepared.SplitTail(config.Monitor.HoldoutTail);
        }
        if (world.IsRoot)
        {
            // Taken before anything in the folder is replaced, and held until the summary is written.
            RunDirectory.RefuseForeign(config.Out);
        }
        using var runLock = world.IsRoot ? RunLock.Acquire(config.Out) : null;
        if (world.IsRoot) RunDirectory.Prepare(config.Out, resume is not null, overwrite);
        // No rank starts before rank 0 holds the folder (or has failed, which ends the job).
        world.Barrier();
        var plan = RunPlan.Make(config, prepared, world.IsDistributed && resume is not null ? resume with { Sampler = null } : resume);
        foreach (var note in plan.Notes)
        {
            if (note.Warning) _log.LogWarning("{Note}", note.Text);
            else _log.LogInformation("{Note}", note.Text);
        }
        config = plan.Config;
        int size = config.Decode.Size;

        var device = ComputeDevice.Resolve(config.Device);
        using var session = new TrainingSession(config.Trainer, device, config.Seed, resume, world);
        _log.LogInformation("train: {Files} file(s) in {Passes} pass(es), {Live} live source(s){Rank}, device {Device}, {Size} px, batch {Batch}, LibTorch threads {Threads}",
            prepared.Files.Count, plan.Schedule.Count, plan.Live.Count, world.IsDistributed ? $" (MPI rank {world.Rank} of {world.Size})" : "",
            device.type, size, config.Sampler.Batch, TorchSharp.torch.get_num_threads());

        string configJson = config.ToJson();
        if (world.IsRoot) File.WriteAllText(Path.Combine(config.Out, RunDirectory.ConfigFile), configJson);
        var store = world.IsRoot ? new CheckpointStore(config.Out, config.Trainer.KeepCheckpoints) : null;
        using var metrics = world.IsRoot ? new MetricsLog(Path.Combine(config.Out, RunDirectory.MetricsFile), append: resume is not null) : null;
        using var halt = CancellationTokenSource.CreateLinkedTokenSource(stop);

        // The graph: decode -> frames -> sample -> batches -> train. With files only, the sampler wakes once per burst
        // of frames rather than per frame (a wake-up costs more than a frame's hand-over); live frames go at once.
        var graph = new PipelineGraph();
        var frames = graph.Edge<DecodeOutput>("frames", config.Decode.QueueFrames, wakeBurst: plan.Live.Count == 0 ? FileFrameBurst : 1);
        var batches = graph.Edge<TrainingBatch>("batches", config.Sampler.BatchQueue);
        var decode = graph.Stage(new DecodeStage(plan.Schedule, plan.Live, config.Decode, plan.DecodeStart, plan.FrameBudget, logs.CreateLogger("decode"), output: frames)
        {
            Overlay = view?.Feed,
            // Only rank 0 writes into the run folder: under MPI the other ranks' live sources are not recorded.
            RecentFolder = config.Decode.KeepRecentMinutes is null || !world.IsRoot ? null : Path.Combine(config.Out, RunDirectory.RecentFolder),
        });
        // Each rank samples its own files with a seed of its own.
        var sampler = graph.Stage(new SamplerStage(frames, config.Sampler, size, plan.FileLanes + plan.Live.Count, config.Seed + 7919L * world.Rank, plan.AllItems,
            plan.SamplerResume, live: plan.Live.Count > 0, output: batches));
        if (config.Monitor.On && MonitorFactory is null) throw new UserError("eval-source: this command has no online monitor");
        using var quality = world.IsRoot ? MonitorFactory?.Invoke(config, tails, stop) : null;
        var trainer = graph.Stage(new TrainerStage(session, batches, sampler.Return, store, configJson, size, config.Trainer,
            config.Limits.MaxSteps, halt.Token, logs.CreateLogger("train"))
        {
            Monitor = quality,
            Probe = view is null ? null : new OverlayProbe(view.Feed),
            Overlay = view?.Feed,
            World = world,
        });

        var clock = new StageClock();
        clock.Start();
        var record = new RunRecord(plan.Schedule.Count, _log);
        sampler.SourceEvent += record.OnSourceEvent;
        trainer.StepCompleted += step =>
        {
            metrics?.Write(step, clock.ElapsedSeconds, record.Epoch, decode.Reconnects, graph.Snapshots());
            record.OnStep(step);
        };

        long startStep = session.Step;
        var stopping = new StopPolicy(config.Limits, stop, halt, view);
        var monitor = new MonitorPacing(MonitorHz);
        long framesRendered = 0;
        try
        {
            graph.Run(halt, view?.Hertz ?? MonitorHz, () =>
            {
                if (view is not null)
                {
                    view.Render(OverlayStatus());
                    framesRendered++;
                }
                stopping.Check(clock.ElapsedSeconds);
                if (monitor.Due()) observer?.OnProgress(Progress());
            });
        }
        catch (Exception e)
        {
            // Say what happened in summary.json too (when the disk still takes it), then report it.
            stopping.Failed(e.Message);
            if (world.IsRoot) TryWriteSummary(Summary());
            throw;
        }
        stopping.Finish(session.Step, decode.FramesDelivered + plan.FramesBefore);

        // A run that trained nothing has failed, unless the user stopped it, a resumed run was already at its limit, or
        // the overlay was the point of it (it was shown or recorded all the same; then a warning says why nothing trained).
        if (session.Step == startStep && resume is null && !stopping.UserStopped)
        {
            string why = record.WhyNoStep(stopping.SourcesEnded ? "" : $" before {stopping.Reason}", decode.FramesDelivered,
                prepared.Live.Concat(prepared.Files.Select(f => f.Source)),
                config.Sampler, sampler.LongestSpan);
            if (framesRendered == 0 || stopping.SourcesEnded) throw new UserError(why);
            _log.LogWarning("train: {Why}; the overlay was drawn all the same", why);
        }

        // The frames every rank took (the same collective on every rank, after the last step).
        long framesSeen = world.Sum(session.FramesSeen);
        var summary = Summary() with { FramesSeen = framesSeen };
        if (world.IsRoot) File.WriteAllText(Path.Combine(config.Out, RunDirectory.SummaryFile), JsonSerializer.Serialize(summary, RunConfig.Json));
        return summary;

        TrainingSummary Summary()
        {
            var (first, last) = record.LossNormEnds();
            return new TrainingSummary(
                config.Out, trainer.LastCheckpoint ?? store?.Existing().LastOrDefault(), metrics?.Path ?? "", DeviceName(device),
                resume is not null, stopping.Reason ?? "the sources ended", session.Step, session.Step - startStep, session.FramesSeen, clock.ElapsedSeconds,
                first, last, record.Reports, prepared.Skipped, graph.Snapshots(), decode.Reconnects,
                view is null ? null : new OverlaySummary(framesRendered), world.Size, world.IsDistributed ? Math.Round(session.AllreduceSeconds, 3) : null);
        }

        void TryWriteSummary(TrainingSummary failed)
        {
            try { File.WriteAllText(Path.Combine(config.Out, RunDirectory.SummaryFile), JsonSerializer.Serialize(failed, RunConfig.Json)); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        RunProgress Progress() => new(
            clock.ElapsedSeconds, session.Step, config.Limits.MaxSteps, sampler.FramesIngested, plan.ExpectedFrames,
            record.LastStep, metrics?.RecentFramesPerSecond ?? 0, graph.Snapshots(), record.CurrentSource, decode.Reconnects, config.Limits.MaxSeconds);

        OverlayStatus OverlayStatus()
        {
            var step = record.LastStep;
            return new OverlayStatus(graph.Snapshots(), session.Step, step?.Loss, step?.LossNorm, DeviceName(device), record.RecentLossNorms(400),
                record.CurrentSource, Training: true, record.QualityHistory().Select(q => (q.Step, q.Scores.Auc, q.Scores.Tau)).ToList());
        }
    }

    private static string DeviceName(TorchSharp.torch.Device device) => device.type.ToString().ToLowerInvariant();
}
