using System.Diagnostics;
using Microsoft.Extensions.Logging;
using VideoSsl.Engine;
using VideoSsl.Evaluation.Metrics;
using VideoSsl.Graph;
using VideoSsl.Learning;
using static TorchSharp.torch;

namespace VideoSsl.Evaluation;

/// <summary>
/// The online quality monitor: held-out clips decoded once at the training frame size and <c>eval</c>'s rate,
/// kept in memory, and every <see cref="Every"/> steps embedded with the model as it is (evaluation mode, eval's
/// batches) and scored with eval's protocols: the numbers equal <c>eval</c>'s on a checkpoint of the same step.
/// </summary>
public sealed class HeldOutMonitor : IQualityMonitor
{
    /// <summary>More than this many bytes of decoded frames is refused: the monitor is meant for a few short clips.</summary>
    public const long MaxBytes = 1L << 30;

    private readonly List<byte[]> _batches = [];
    private readonly List<int> _counts = [];
    private readonly EvaluationRun.DecodedFrames _frames;
    private readonly int _size;
    private readonly double _posWindow, _negGap;

    private HeldOutMonitor(string option, int every, int size, double posWindow, double negGap, PreparedSources prepared, double fps, ILoggerFactory logs, CancellationToken cancel)
    {
        Every = every;
        (_size, _posWindow, _negGap) = (size, posWindow, negGap);
        long bytes = 0;
        _frames = EvaluationRun.DecodeInBatches(prepared, size, fps, logs, (pixels, count) =>
        {
            bytes += (long)count * size * size * 3;
            if (bytes > MaxBytes)
                throw new UserError($"{option}: more than {MaxBytes >> 20} MB of frames at {size} px and {fps} frames/s; name fewer or shorter clips, or lower --eval-fps");
            _batches.Add(pixels.AsSpan(0, count * size * size * 3).ToArray());
            _counts.Add(count);
        }, cancel);
        double longest = Enumerable.Range(0, _frames.Names.Count).Select(SecondsSpanned).DefaultIfEmpty(0).Max();
        if (longest < negGap)
            throw new UserError($"{option}: the longest clip spans {longest:0.##} s at {fps} frames/s, less than neg-gap ({negGap} s): there are no far pairs to measure");
    }

    /// <summary>
    /// The monitor a run's settings ask for, with its clips decoded, or null when it asks for none: the
    /// <paramref name="tails"/> of the training files when given (<see cref="MonitorSettings.HoldoutTail"/>), else the
    /// clips of <c>--eval-source</c>.
    /// </summary>
    public static HeldOutMonitor? For(RunConfig config, PreparedSources? tails, ILoggerFactory logs, CancellationToken cancel)
    {
        if (!config.Monitor.On) return null;
        var log = logs.CreateLogger("monitor");
        var prepared = tails ?? SourcePreparation.Prepare(config.Monitor.Sources, realtime: false, log, cancel);
        if (prepared.Live.Count > 0) throw new UserError($"eval-source '{prepared.Live[0].Path}': the monitor reads video files");
        if (prepared.Files.Count == 0) throw new UserError("eval-source: none of the named clips could be read");
        var monitor = new HeldOutMonitor(tails is null ? "eval-source" : "holdout-tail", config.Monitor.Every, config.Decode.Size, config.Sampler.PosWindow, config.Sampler.NegGap, prepared, config.Monitor.Fps, logs, cancel);
        log.LogInformation("monitor: {Frames} frames of {Videos} held-out {What}, measured every {Every} steps", monitor._frames.Videos.Length, prepared.Files.Count,
            tails is null ? "clip(s)" : $"tail(s) ({config.Monitor.HoldoutTail:0.##} of each training file)", monitor.Every);
        return monitor;
    }

    public int Every { get; }

    private double SecondsSpanned(int video)
    {
        var times = _frames.Times.Where((_, i) => _frames.Videos[i] == video).ToArray();
        return times.Length == 0 ? 0 : times.Max() - times.Min();
    }

    public QualityScores Measure(ContrastiveModel model, Device device)
    {
        var watch = Stopwatch.StartNew();
        model.eval();
        using var embedder = FrameEmbedder.Borrowing(model, _size, device);
        var features = new List<float>();
        for (int b = 0; b < _batches.Count; b++) features.AddRange(embedder.Embed(_batches[b], _counts[b]));
        var set = new FrameSet(features.ToArray(), embedder.Dimension, _frames.Videos, _frames.Times, _frames.Names);
        var nearFar = TemporalMetrics.NearFar(set, _posWindow, _negGap);
        var order = TemporalMetrics.TimeOrder(set);
        double map = _frames.Names.Count > 1 ? TemporalMetrics.SameVideo(set, _negGap).MeanAveragePrecision : double.NaN;
        return new QualityScores(nearFar.Balanced, order.MeanTau, map, watch.Elapsed.TotalSeconds);
    }

    public void Dispose() { }
}
