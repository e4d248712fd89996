using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Engine.Overlay;
using VideoSsl.Graph.Outputs;
using VideoSsl.Learning;
using VideoSsl.Learning.Overlay;
using VideoSsl.Sampling;

namespace VideoSsl.Graph;

/// <summary>
/// The training graph: decode -> sample -> train, each stage on its own thread, joined by bounded channels, with
/// the calling thread as the monitor (the "game loop"): it reports progress a few times a second, enforces the
/// wall-clock limit and, when the trainer is done, stops the other stages and collects their faults.
/// </summary>
public sealed class TrainingGraph
{
    private const double MonitorHz = 4;

    /// <summary>Frames the sampler waits for before it wakes, when only files are read.</summary>
    private const int FileFrameBurst = 8;
    private readonly ILoggerFactory _logs;
    private readonly ILogger _log;

    public TrainingGraph(ILoggerFactory logs)
    {
        _logs = logs;
        _log = logs.CreateLogger("train");
    }

    /// <param name="resume">The checkpoint to continue from (its weights, optimizer, step, and data position when the data is the same).</param>
    /// <param name="stop">Cancelled on Ctrl+C or SIGTERM: the current step finishes and a checkpoint is written.</param>
    /// <param name="view">The overlay, drawn by the monitor loop on this thread (which owns its GL context), or null.</param>
    public TrainingSummary Run(RunConfig config, Checkpoint? resume, bool overwrite, IRunObserver? observer, CancellationToken stop, IOverlayView? view = null)
    {
        config.Validated();
        var prepared = SourcePreparation.Prepare(config.Sources, config.Decode.Realtime, _log, stop);
        // Taken before anything in the folder is replaced, and held until the summary is written.
        RunDirectory.RefuseForeign(config.Out);
        using var runLock = RunLock.Acquire(config.Out);
        RunDirectory.Prepare(config.Out, resume is not null, overwrite);
        var (schedule, liveItems) = prepared.WorkItems(config.Limits.Epochs, config.Decode);
        CheckFrameRates(config, schedule.Concat(liveItems));
        int fileLanes = Math.Min(config.Decode.ParallelSources, prepared.Files.Count);
        if (liveItems.Count == 0 && config.Sampler.AnchorsForShortFiles(prepared.Files.Select(f => f.Info.Duration.TotalSeconds - 1 / f.Info.DecodeRate(config.Decode.Fps)), fileLanes) is { } fit)
        {
            _log.LogWarning("train: the files hold at most {Fit} anchors {Spacing} s apart at a time, fewer than --min-anchors' default {Min}; training on batches of {Fit} (more or longer clips, or a lower --neg-gap, give larger batches)",
                fit, config.Sampler.AnchorSpacing, config.Sampler.EffectiveMinAnchors, fit);
            config = config with { Sampler = config.Sampler with { MinAnchors = fit } };
        }
        var allItems = schedule.Concat(liveItems).ToList();
        int size = config.Decode.Size;

        if (resume is not null && resume.Info.FrameSize != size)
            throw new UserError($"checkpoint was trained on {resume.Info.FrameSize} px frames; --size {size} does not fit it");
        SamplerState? samplerResume = liveItems.Count > 0 ? null : DataPositionToResume(config, resume, schedule, fileLanes);

        var device = ComputeDevice.Resolve(config.Device);
        using var session = new TrainingSession(config.Trainer, device, config.Seed, resume);
        _log.LogInformation("train: {Files} file(s) in {Passes} pass(es), {Live} live source(s), device {Device}, {Size} px, batch {Batch}, LibTorch threads {Threads}",
            prepared.Files.Count, schedule.Count, liveItems.Count, device.type, size, config.Sampler.Batch, TorchSharp.torch.get_num_threads());

        string configJson = config.ToJson();
        File.WriteAllText(Path.Combine(config.Out, RunDirectory.ConfigFile), configJson);
        var store = new CheckpointStore(config.Out, config.Trainer.KeepCheckpoints);
        using var metrics = new MetricsLog(Path.Combine(config.Out, RunDirectory.MetricsFile), append: resume is not null);

        using var halt = CancellationTokenSource.CreateLinkedTokenSource(stop);
        long framesBefore = samplerResume?.FramesIngested ?? 0;
        if (config.Decode.KeepRecentMinutes is { } keep && liveItems.Count == 0)
            _log.LogWarning("--keep-recent {Minutes} min: there is no live source to keep (files are already on disk); nothing is recorded", keep);

        // The graph: decode -> frames -> sample -> batches -> train. With files only, the sampler wakes once per burst
        // of frames rather than per frame (a wake-up costs more than a frame's hand-over); live frames go at once.
        var graph = new PipelineGraph();
        var frames = graph.Edge<DecodeOutput>("frames", config.Decode.QueueFrames, wakeBurst: liveItems.Count == 0 ? FileFrameBurst : 1);
        var batches = graph.Edge<TrainingBatch>("batches", config.Sampler.BatchQueue);
        var decode = graph.Stage(new DecodeStage(schedule, liveItems, config.Decode,
            samplerResume?.ToResumePoint() ?? DecodeResumePoint.FromStart(fileLanes),
            config.Limits.MaxFrames is { } maxFrames ? Math.Max(0, maxFrames - framesBefore) : null,
            _logs.CreateLogger("decode"), output: frames)
        {
            Overlay = view?.Feed,
            RecentFolder = config.Decode.KeepRecentMinutes is null ? null : Path.Combine(config.Out, RunDirectory.RecentFolder),
        });
        var sampler = graph.Stage(new SamplerStage(frames, config.Sampler, size, fileLanes + liveItems.Count, config.Seed, allItems,
            samplerResume, live: liveItems.Count > 0, output: batches));
        var trainer = graph.Stage(new TrainerStage(session, batches, sampler.Return, store, configJson, size, config.Trainer,
            config.Limits.MaxSteps, halt.Token, _logs.CreateLogger("train"))
        {
            Probe = view is null ? null : new OverlayProbe(view.Feed),
            Overlay = view?.Feed,
        });

        var clock = Stopwatch.StartNew();
        var reports = new List<SourceReport>();
        var lossNorms = new List<double>();
        StepResult? lastStep = null;
        string? currentSource = null;
        int epoch = 0;
        sampler.SourceEvent += message => OnSourceEvent(message, schedule.Count, reports, ref currentSource, ref epoch);
        trainer.StepCompleted += step =>
        {
            metrics.Write(step, clock.Elapsed.TotalSeconds, Volatile.Read(ref epoch), decode.Reconnects, graph.Snapshots());
            if (step.Applied && double.IsFinite(step.LossNorm)) lock (lossNorms) lossNorms.Add(step.LossNorm);
            Volatile.Write(ref lastStep, step);
        };

        long startStep = session.Step;
        long expectedFrames = Math.Min(schedule.Sum(w => w.ExpectedFrames), config.Limits.MaxFrames ?? long.MaxValue);
        string? stopReason = null;
        var monitor = new MonitorPacing(MonitorHz);
        long framesRendered = 0;
        try
        {
            graph.Run(halt, view?.Hertz ?? MonitorHz, Tick);
        }
        catch (Exception e)
        {
            // Say what happened in summary.json too (when the disk still takes it), then report it.
            stopReason = $"it failed: {e.Message}";
            TryWriteSummary(Summary());
            throw;
        }
        void Tick()
        {
            if (view is not null)
            {
                view.Render(OverlayStatus());
                framesRendered++;
                if (view.QuitRequested && !halt.IsCancellationRequested)
                {
                    stopReason ??= "the overlay was closed";
                    halt.Cancel();
                }
            }
            // Limits every tick (the last one, after the stages stopped, included); progress at the monitor's own rate.
            if (stop.IsCancellationRequested) stopReason ??= "it was interrupted";
            if (config.Limits.MaxSeconds is { } seconds && clock.Elapsed.TotalSeconds >= seconds && !halt.IsCancellationRequested)
            {
                stopReason ??= $"the time limit ({seconds} s) was reached";
                halt.Cancel();
            }
            if (monitor.Due()) observer?.OnProgress(Progress());
        }
        if (config.Limits.MaxSteps is { } maxSteps && session.Step >= maxSteps) stopReason ??= $"the step limit ({maxSteps}) was reached";
        if (decode.FramesDelivered + framesBefore >= (config.Limits.MaxFrames ?? long.MaxValue)) stopReason ??= $"the frame limit ({config.Limits.MaxFrames}) was reached";
        bool sourcesEnded = stopReason is null;
        bool userStopped = stop.IsCancellationRequested || view is { QuitRequested: true };
        stopReason ??= "the sources ended";

        // A run that trained nothing has failed, unless the user stopped it, a resumed run was already at its limit, or
        // the overlay was the point of it (it was shown or recorded all the same; then a warning says why nothing trained).
        if (session.Step == startStep && resume is null && !userStopped)
        {
            var failures = reports.Where(r => r.Error is not null).ToList();
            string when = sourcesEnded ? "" : $" before {stopReason}";
            string why = failures.Count > 0
                ? $"no training step was possible{when}: {failures.Count} of {reports.Count} source passes failed to decode (first: '{failures[0].Path}': {failures[0].Error})"
                : decode.FramesDelivered == 0
                ? $"no training step was possible{when}: no frame arrived from {string.Join(", ", prepared.Live.Concat(prepared.Files.Select(f => f.Source)).Select(s => $"'{s.Path}'"))}"
                : $"no training step was possible{when}: a batch needs at least {config.Sampler.EffectiveMinAnchors} anchors spaced " +
                  $"neg-gap + pos-window = {config.Sampler.AnchorSpacing} s apart, and the sources held at most {sampler.LongestSpan:0.#} s " +
                  "of video at a time; use longer or more clips, or lower --neg-gap or --batch";
            if (framesRendered == 0 || sourcesEnded) throw new UserError(why);
            _log.LogWarning("train: {Why}; the overlay was drawn all the same", why);
        }

        var summary = Summary();
        File.WriteAllText(Path.Combine(config.Out, RunDirectory.SummaryFile), JsonSerializer.Serialize(summary, RunConfig.Json));
        return summary;

        TrainingSummary Summary()
        {
            List<double> norms;
            lock (lossNorms) norms = [.. lossNorms];
            return new TrainingSummary(
                config.Out, trainer.LastCheckpoint ?? store.Existing().LastOrDefault(), metrics.Path, device.type.ToString().ToLowerInvariant(),
                resume is not null, stopReason!, session.Step, session.Step - startStep, session.FramesSeen, clock.Elapsed.TotalSeconds,
                norms.Count > 0 ? norms.Take(10).Average() : null, norms.Count > 0 ? norms.TakeLast(10).Average() : null,
                reports, prepared.Skipped, graph.Snapshots(), decode.Reconnects,
                view is null ? null : new OverlaySummary(framesRendered));
        }

        void TryWriteSummary(TrainingSummary failed)
        {
            try { File.WriteAllText(Path.Combine(config.Out, RunDirectory.SummaryFile), JsonSerializer.Serialize(failed, RunConfig.Json)); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }

        RunProgress Progress() => new(
            clock.Elapsed.TotalSeconds, session.Step, config.Limits.MaxSteps, sampler.FramesIngested, expectedFrames,
            Volatile.Read(ref lastStep), metrics.RecentFramesPerSecond, graph.Snapshots(),
            Volatile.Read(ref currentSource), decode.Reconnects, config.Limits.MaxSeconds);

        OverlayStatus OverlayStatus()
        {
            var step = Volatile.Read(ref lastStep);
            List<double> recent;
            lock (lossNorms) recent = lossNorms.Count <= 400 ? [.. lossNorms] : lossNorms.GetRange(lossNorms.Count - 400, 400);
            return new OverlayStatus(graph.Snapshots(), session.Step, step?.Loss, step?.LossNorm,
                device.type.ToString().ToLowerInvariant(), recent, Volatile.Read(ref currentSource), Training: true);
        }
    }

    private void OnSourceEvent(DecodeOutput message, int filePasses, List<SourceReport> reports, ref string? currentSource, ref int epoch)
    {
        if (message.Kind == DecodeEventKind.SourceStarted)
        {
            // Live sources run all along; for files, say which pass of how many has just begun.
            string where = message.Item.Source.Live ? message.Item.Source.Name : $"file {message.Item.Index + 1}/{filePasses} {message.Item.Source.Name}";
            Volatile.Write(ref currentSource, where);
            Volatile.Write(ref epoch, message.Item.Epoch);
            _log.LogDebug("decode: started {Source} (epoch {Epoch})", message.Item.Source.Path, message.Item.Epoch + 1);
            return;
        }
        if (message.Outcome is not { } outcome) return;
        var report = new SourceReport(message.Item.Source.Path, message.Item.Epoch, outcome.FramesDelivered, outcome.ExpectedFrames,
            outcome.Error, outcome.LooksPartial, outcome.Stopped);
        lock (reports) reports.Add(report);
        if (outcome.Error is { } error)
            _log.LogWarning("source '{Source}': FFmpeg failed after {Frames} frames ({Error}); the frames so far are kept",
                message.Item.Source.Path, outcome.FramesDelivered, error);
        else if (outcome.LooksPartial)
            _log.LogWarning("source '{Source}': partial, {Frames} of {Expected} expected frames; the frames so far are kept",
                message.Item.Source.Path, outcome.FramesDelivered, outcome.ExpectedFrames);
    }

    /// <summary>A positive must be another frame within pos-window: the frame interval must fit inside it.</summary>
    private static void CheckFrameRates(RunConfig config, IEnumerable<DecodeWorkItem> items)
    {
        foreach (var item in items.DistinctBy(i => i.Source.Id))
        {
            if (config.Sampler.PosWindow < 1 / item.Rate)
                throw new UserError($"source '{item.Source.Path}': at {item.Rate:0.###} frames/s one frame lasts {1 / item.Rate:0.###} s, longer than pos-window {config.Sampler.PosWindow} s, so no frame has a positive; raise --pos-window or --fps");
        }
    }

    /// <summary>
    /// The sampler continues exactly where the checkpoint left it only when the run reads the same data the same
    /// way; otherwise training continues from the checkpoint's weights on a fresh pass over the sources.
    /// </summary>
    private SamplerState? DataPositionToResume(RunConfig config, Checkpoint? resume, IReadOnlyList<DecodeWorkItem> schedule, int lanes)
    {
        if (resume?.Sampler is not { } state) return null;
        if (config.Sampler.Replay > 0)
        {
            _log.LogInformation("resume: the replay buffer is not kept in checkpoints; training continues from the weights on a fresh pass over the sources");
            return null;
        }
        RunConfig before;
        try { before = RunConfig.FromJson(resume.RunConfigJson, "checkpoint"); }
        catch (UserError) { return null; }
        bool same = before.Sources.SequenceEqual(config.Sources) && before.Decode == config.Decode && before.Sampler == config.Sampler
            && before.Limits.Epochs == config.Limits.Epochs && before.Seed == config.Seed
            && state.Decode.Lanes.Count == lanes && state.Rings.All(r => r.WorkItem < schedule.Count);
        if (!same)
        {
            _log.LogWarning("resume: the sources or the decode/sampler settings differ from the checkpoint's; training continues from its weights on a fresh pass over the sources");
            return null;
        }
        if (state.Decode.NextWorkItem >= schedule.Count && state.Decode.Lanes.All(l => l is null))
            _log.LogWarning("resume: the checkpoint had already read all its sources; only frames still buffered remain (raise --epochs to train longer)");
        return state;
    }
}
