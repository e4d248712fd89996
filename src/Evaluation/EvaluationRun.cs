using Microsoft.Extensions.Logging;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Evaluation.Featurizers;
using VideoSsl.Evaluation.Metrics;
using VideoSsl.Graph;
using VideoSsl.Learning;
using VideoSsl.Learning.Backbones;
using VideoSsl.Messages;

namespace VideoSsl.Evaluation;

/// <summary>What to evaluate, on which videos, and where the report goes.</summary>
public sealed record EvalRequest(
    string Checkpoint,
    IReadOnlyList<string> Sources,
    string Out,
    double Fps = 5,
    DeviceChoice Device = DeviceChoice.Auto,
    bool ResNet = true,
    IReadOnlyList<string>? Align = null,
    string? Labels = null,
    long Seed = 1234,
    int[]? PooledStages = null);

/// <summary>Every metric of one featurizer.</summary>
public sealed record FeaturizerResult(
    string Name,
    string Description,
    int Dimension,
    NearFarAuc NearFar,
    Retrieval Retrieval,
    TemporalOrder TimeOrder,
    double? AlignmentError,
    ProbeResult? Probe);

/// <summary>The whole evaluation: settings, videos, and every featurizer's results (learned first).</summary>
public sealed record EvalReport(
    string Checkpoint,
    long Step,
    double PosWindow,
    double NegGap,
    double Fps,
    IReadOnlyList<VideoSummary> Videos,
    IReadOnlyList<FeaturizerResult> Results,
    IReadOnlyList<string> Files);

public sealed record VideoSummary(string Name, string Path, int Frames, double Seconds, string? Class);

/// <summary>
/// Decodes the held-out videos once per frame size, runs every featurizer on the same frames (the learned encoder
/// and three baselines: raw pixels, the same encoder with random weights, ImageNet ResNet-18) and computes the
/// temporal protocols for each, with the neighbourhoods (pos-window, neg-gap) the model was trained with.
/// </summary>
public sealed class EvaluationRun(ILoggerFactory logs)
{
    private readonly ILogger _log = logs.CreateLogger("eval");

    /// <summary>
    /// The encoder before training, so that training's own gain shows: random weights, or the ImageNet backbone
    /// not adapted, at the training frame size with the same pooled stages (the 224-px resnet18 row is ONNX Runtime's).
    /// </summary>
    private static EncoderFeaturizer StartingPoint(ModelSettings model, int frameSize, TorchSharp.torch.Device device, long seed) => model.Init == InitKind.ImageNet
        ? new EncoderFeaturizer("imagenet-frozen", $"the same backbone with its ImageNet weights, not adapted: the pooled features of stages {Stages(model)} at {frameSize} px",
            FrameEmbedder.Untrained(model with { KeepImageNet = false }, frameSize, device, seed))
        : new EncoderFeaturizer("random-init", "the same encoder with its initial random weights", FrameEmbedder.Untrained(model, frameSize, device, seed));

    private static string Stages(ModelSettings model) => string.Join(",", model.PooledStageIndexes.Select(i => i + 1));

    public EvalReport Run(EvalRequest request, CancellationToken cancel)
    {
        if (!(request.Fps > 0 && request.Fps <= 60)) throw UserError.CommandLine($"fps must be above 0 and at most 60 (got {request.Fps})");
        OutputFolder.Create(request.Out, $"out '{request.Out}'");
        var (checkpoint, checkpointPath) = CheckpointStore.Open(request.Checkpoint, message => _log.LogWarning("{Message}", message));
        checkpoint = checkpoint.PoolingStages(request.PooledStages);
        var trained = RunConfig.FromJson(checkpoint.RunConfigJson, checkpointPath, written: true);
        double posWindow = trained.Sampler.PosWindow, negGap = trained.Sampler.NegGap;
        if (posWindow < 1 / request.Fps)
            throw new UserError($"at --fps {request.Fps} frames lie {1 / request.Fps:0.###} s apart, more than pos-window {posWindow} s: no near pairs; raise --fps");

        var (sources, classOfVideo, classNames) = Sources(request, cancel);
        var prepared = SourcePreparation.Prepare(sources, realtime: false, _log, cancel);
        if (prepared.Live.Count > 0) throw new UserError($"source '{prepared.Live[0].Path}': eval reads video files");
        var device = ComputeDevice.Resolve(request.Device);

        var learned = new FrameEmbedder(checkpoint, device);
        var model = checkpoint.Info.Model;
        var featurizers = new List<IFrameFeaturizer>
        {
            new EncoderFeaturizer("learned", $"the trained encoder's embedding, the pooled features of stages {Stages(model)}{(model.KeepImageNet ? " beside the kept ImageNet backbone's" : "")} (step {checkpoint.Info.Step}), as embed writes them", learned),
            new EncoderFeaturizer("learned-head", "the trained projection head's output, what the loss compared", learned, projected: true, ownsEmbedder: false),
            StartingPoint(model, checkpoint.Info.FrameSize, device, request.Seed),
            new RawPixelFeaturizer(checkpoint.Info.FrameSize),
        };
        if (request.ResNet) featurizers.Add(new ResNet18Featurizer());
        try
        {
            var sets = Featurize(prepared, featurizers, request.Fps, cancel);
            var first = sets.Values.First();
            // Near/far, retrieval and time order all need frames more than neg-gap apart within some video.
            double longest = first.Ranges().Select(r => first.Times[r.End - 1] - first.Times[r.Start]).DefaultIfEmpty(0).Max();
            if (longest < negGap)
                throw new UserError($"source '{sources[0]}'{(sources.Count > 1 ? " and the others" : "")}: the longest video spans {longest:0.##} s at --fps {request.Fps}, " +
                    $"less than the checkpoint's neg-gap ({negGap} s), so there are no far pairs to measure; evaluate on longer videos");
            var videos = first.Ranges().Select(r => new VideoSummary(first.VideoNames[r.Video], prepared.Files[r.Video].Source.Path,
                r.End - r.Start, first.Times[r.End - 1] - first.Times[r.Start],
                classOfVideo is null ? null : classNames![classOfVideo[r.Video]])).ToList();
            var align = AlignPair(request, prepared);
            var results = featurizers.Select(f =>
            {
                var set = sets[f.Name];
                _log.LogInformation("eval: scoring {Name}", f.Name);
                return new FeaturizerResult(f.Name, f.Description, f.Dimension,
                    TemporalMetrics.NearFar(set, posWindow, negGap),
                    TemporalMetrics.SameVideo(set, negGap),
                    TemporalMetrics.TimeOrder(set),
                    align is { } pair ? TemporalMetrics.AlignmentError(set, pair.A, pair.B) : null,
                    classOfVideo is null ? null : LinearProbe.Evaluate(set, classOfVideo, classNames!.Count));
            }).ToList();
            var report = new EvalReport(checkpointPath, checkpoint.Info.Step, posWindow, negGap, request.Fps, videos, results, []);
            var files = new Report.ReportWriter(request.Out).Write(report, sets, RunDirectoryOf(checkpointPath));
            return report with { Files = files };
        }
        finally
        {
            foreach (var f in featurizers) f.Dispose();
        }
    }

    /// <summary>With --labels, the videos are every sub-folder's files and each sub-folder is a class.</summary>
    private static (IReadOnlyList<string> Sources, int[]? ClassOfVideo, IReadOnlyList<string>? Classes) Sources(EvalRequest request, CancellationToken cancel)
    {
        var sources = request.Sources.Concat(request.Align ?? []).Distinct().ToList();
        if (request.Labels is null)
        {
            if (sources.Count == 0) throw new UserError("no source given: pass --source FILE_OR_FOLDER");
            return (sources, null, null);
        }
        if (!Directory.Exists(request.Labels)) throw new UserError($"labels '{request.Labels}': no such folder");
        var classes = Directory.GetDirectories(request.Labels).Order(StringComparer.Ordinal).ToList();
        if (classes.Count < 2) throw new UserError($"labels '{request.Labels}': needs at least two sub-folders, one per class");
        var files = new List<string>();
        var classOf = new List<int>();
        for (int c = 0; c < classes.Count; c++)
        {
            foreach (var source in SourceResolver.Resolve([classes[c]], cancel: cancel).Sources)
            {
                files.Add(source.Path);
                classOf.Add(c);
            }
        }
        if (sources.Count > 0) throw new UserError("--labels takes its videos from the label folders; leave out --source");
        return (files, classOf.ToArray(), classes.Select(Path.GetFileName).ToList()!);
    }

    private static (int A, int B)? AlignPair(EvalRequest request, PreparedSources prepared)
    {
        if (request.Align is not { Count: 2 } align) return null;
        int Index(string path) => prepared.Files.ToList().FindIndex(f => Path.GetFullPath(f.Source.Path) == Path.GetFullPath(path)) is var i and >= 0
            ? i : throw new UserError($"align '{path}': not among the evaluated videos");
        return (Index(align[0]), Index(align[1]));
    }

    /// <summary>One decode pass per frame size; every featurizer of that size sees the same frames, in batches.</summary>
    private Dictionary<string, FrameSet> Featurize(PreparedSources prepared, IReadOnlyList<IFrameFeaturizer> featurizers, double fps, CancellationToken cancel)
    {
        var sets = new Dictionary<string, FrameSet>();
        foreach (var group in featurizers.GroupBy(f => f.FrameSize))
        {
            var features = group.ToDictionary(f => f.Name, _ => new List<float>());
            _log.LogInformation("eval: decoding {Count} video(s) at {Size} px, {Fps} frames/s for {Names}", prepared.Files.Count, group.Key, fps, string.Join(", ", group.Select(f => f.Name)));
            var frames = DecodeInBatches(prepared, group.Key, fps, logs, (pixels, count) =>
            {
                foreach (var f in group) features[f.Name].AddRange(f.Featurize(pixels, count));
            }, cancel);
            foreach (var f in group)
                sets[f.Name] = new FrameSet(features[f.Name].ToArray(), f.Dimension, frames.Videos, frames.Times, frames.Names);
        }
        return sets;
    }

    /// <summary>Frames per forward pass in eval (and in the online monitor, so that both compute the same numbers).</summary>
    public const int FeaturizeBatch = 32;

    /// <summary>Which video and moment each decoded frame is, in order.</summary>
    public sealed record DecodedFrames(int[] Videos, double[] Times, IReadOnlyList<string> Names);

    /// <summary>
    /// Decodes the files at <paramref name="size"/> px and <paramref name="fps"/>, one after another, handing
    /// <paramref name="onBatch"/> rgb24 frames <see cref="FeaturizeBatch"/> at a time (the buffer is reused).
    /// </summary>
    public static DecodedFrames DecodeInBatches(PreparedSources prepared, int size, double fps, ILoggerFactory logs, Action<byte[], int> onBatch, CancellationToken cancel)
    {
        var names = UniqueNames(prepared.Files.Select(f => f.Source.Name).ToList(), prepared.Files.Select(f => f.Source.Path).ToList());
        var settings = new DecodeSettings { Size = size, Fps = fps, ParallelSources = 1 };
        var schedule = DecodeSchedule.Files(prepared.Files, 1, settings);
        var decode = new DecodeStage(schedule, [], settings, DecodeResumePoint.FromStart(1), null, logs.CreateLogger("decode"));
        var videos = new List<int>();
        var times = new List<double>();
        var pixels = new byte[FeaturizeBatch * size * size * 3];
        int pending = 0;
        void Flush()
        {
            if (pending == 0) return;
            onBatch(pixels, pending);
            pending = 0;
        }
        decode.Start(cancel);
        while (decode.Output.TryReadBlocking(out var message, cancel))
        {
            if (message.Frame is not { } frame) continue;
            frame.Pixels.CopyTo(pixels.AsSpan(pending * size * size * 3));
            frame.Release();
            videos.Add(message.Item.Source.Id);
            times.Add(frame.Pts);
            if (++pending == FeaturizeBatch) Flush();
        }
        Flush();
        decode.WaitAndRethrow();
        return new DecodedFrames([.. videos], [.. times], names);
    }

    /// <summary>
    /// The name each video goes by in the report: its file name, or, where two share one (label folders often hold
    /// 0.mp4, 1.mp4, ...), its folder and file name, so that no two videos' per-video numbers land in one row.
    /// </summary>
    public static IReadOnlyList<string> UniqueNames(IReadOnlyList<string> fileNames, IReadOnlyList<string> paths)
    {
        var names = fileNames.ToList();
        var shared = names.GroupBy(n => n).Where(g => g.Count() > 1).Select(g => g.Key).ToHashSet();
        for (int i = 0; i < names.Count; i++)
            if (shared.Contains(names[i]) && Path.GetFileName(Path.GetDirectoryName(paths[i])) is { Length: > 0 } folder)
                names[i] = $"{folder}/{names[i]}";
        // Still shared (the same folder name twice, or a source given twice): number them in order.
        foreach (var group in names.Select((n, i) => (n, i)).GroupBy(x => x.n).Where(g => g.Count() > 1))
        {
            int k = 1;
            foreach (var (_, i) in group) names[i] = $"{names[i]} ({k++})";
        }
        return names;
    }

    /// <summary>The run folder a checkpoint belongs to (for its metrics.jsonl), if it has one.</summary>
    private static string? RunDirectoryOf(string checkpointPath)
    {
        string? folder = Path.GetDirectoryName(Path.GetDirectoryName(Path.GetFullPath(checkpointPath)));
        return folder is not null && File.Exists(Path.Combine(folder, RunDirectory.MetricsFile)) ? folder : null;
    }
}
