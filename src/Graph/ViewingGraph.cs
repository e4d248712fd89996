using System.Diagnostics;
using Microsoft.Extensions.Logging;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Learning;
using VideoSsl.Learning.Overlay;
using VideoSsl.Messages;
using VideoSsl.Messages.Overlay;

namespace VideoSsl.Graph;

/// <summary>The end of a viewing run (a trained model's heatmaps, no training).</summary>
public sealed record ViewingSummary(string Checkpoint, long Step, long FramesShown, long Probes, double Seconds, string StopReason, OverlaySummary Overlay);

/// <summary>
/// The viewing graph of <c>demo --no-train</c>: decode -> probe, with the overlay drawn by the monitor loop on the
/// calling thread. Files play at their own rate (as live sources do) and loop for --epochs passes; the checkpoint
/// is only read.
/// </summary>
public sealed class ViewingGraph(ILoggerFactory logs)
{
    private readonly ILogger _log = logs.CreateLogger("demo");

    public ViewingSummary Run(RunConfig config, string checkpointPath, IOverlayView view, CancellationToken stop)
    {
        var (checkpoint, path) = CheckpointStore.Open(checkpointPath, message => _log.LogWarning("{Message}", message));
        var decodeSettings = config.Decode with { Size = checkpoint.Info.FrameSize, Realtime = true, ParallelSources = 1 };
        var prepared = SourcePreparation.Prepare(config.Sources, realtime: true, _log, stop);
        var (files, live) = prepared.WorkItems(config.Limits.Epochs, decodeSettings);
        var device = ComputeDevice.Resolve(config.Device);
        using var model = TrainingSession.LoadForInference(checkpoint, device);
        _log.LogInformation("demo: checkpoint {Checkpoint} (step {Step}) on {Count} source(s), not training, device {Device}",
            path, checkpoint.Info.Step, prepared.Count, device.type);

        using var halt = CancellationTokenSource.CreateLinkedTokenSource(stop);
        // The graph: decode -> frames -> probe (no sampler, no trainer: the model is only looked at).
        var graph = new PipelineGraph();
        var frames = graph.Edge<DecodeOutput>("frames", decodeSettings.QueueFrames);
        var decode = graph.Stage(new DecodeStage(files, live, decodeSettings, DecodeResumePoint.FromStart(files.Count > 0 ? 1 : 0),
            config.Limits.MaxFrames, logs.CreateLogger("decode"), output: frames) { Overlay = view.Feed });
        var probe = new OverlayProbe(view.Feed);
        graph.Stage(new ProbeStage(frames, probe, model, device, view.Hertz));
        var clock = new StageClock();
        clock.Start();
        var stopping = new StopPolicy(config.Limits, stop, halt, view);
        long rendered = 0;
        string deviceName = device.type.ToString().ToLowerInvariant();
        graph.Run(halt, view.Hertz, () =>
        {
            view.Render(new OverlayStatus(graph.Snapshots(), checkpoint.Info.Step, null, null, deviceName, [], null, Training: false));
            rendered++;
            stopping.Check(clock.ElapsedSeconds);
        });
        return new ViewingSummary(path, checkpoint.Info.Step, decode.FramesDelivered, probe.Probes, clock.ElapsedSeconds,
            stopping.Finish(steps: 0, decode.FramesDelivered), new OverlaySummary(rendered));
    }
}
