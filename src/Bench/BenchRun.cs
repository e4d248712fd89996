using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Graph;
using VideoSsl.Learning;
using VideoSsl.Learning.Backbones;
using VideoSsl.Messages;
using VideoSsl.Rendering.Overlay;
using VideoSsl.Sampling;
using static TorchSharp.torch;

namespace VideoSsl.Bench;

/// <param name="TrainOnly">Only the train step (for a machine without FFmpeg, such as a GPU box with PyTorch alone).</param>
public sealed record BenchOptions(int Size = 96, int Batch = 32, DeviceChoice Device = DeviceChoice.Cpu, int Steps = 20, bool Twin = false, bool TrainOnly = false);

/// <summary>
/// Decode: the project's decode stage against the bare ffmpeg command with the same filters and threads, same clip. The
/// seconds are the median run's of each; the ratio is the median of the runs' ratios, each run of the stage over
/// the bare run just before it (the two are a few seconds apart, so a slower moment of the machine hits both).
/// </summary>
public sealed record DecodeBench(long Frames, double BareWallSeconds, double BareCpuSeconds, double WallSeconds, double CpuSeconds, double[] RunRatios)
{
    public double FramesPerSecond => Frames / WallSeconds;
    public double CpuMillisecondsPerFrame => CpuSeconds * 1000 / Frames;
    public double BareCpuMillisecondsPerFrame => BareCpuSeconds * 1000 / Frames;
    public double CpuRatio => RunRatios.Order().ElementAt(RunRatios.Length / 2);
}

/// <summary>Train step on synthetic frames against the machine's float32 matmul rate, measured in the same run.</summary>
public sealed record TrainBench(int Size, int Batch, int Threads, double StepSeconds, double FramesPerSecond, double GflopPerSecond, double MatmulGflopPerSecond)
{
    public double PercentOfMatmul => 100 * GflopPerSecond / MatmulGflopPerSecond;
}

/// <summary>
/// End to end: a file through decode, sampler and trainer. The bound: both stages share the cores, so at best a
/// training frame costs its share of decoding plus its training, in CPU-seconds.
/// </summary>
public sealed record EndToEndBench(double FramesPerSecond, double BoundFramesPerSecond, double DecodeCpuPerTrainingFrame, double TrainCpuPerTrainingFrame, int Cores)
{
    public double PercentOfBound => 100 * FramesPerSecond / BoundFramesPerSecond;
}

public sealed record TwinBench(string? Skipped, double VideoSslSeconds, double TwinSeconds, int Steps)
{
    public double Speedup => TwinSeconds / VideoSslSeconds;
}

/// <summary>The resnet18 backbone's training step with its default adaptation, against matmul and against its PyTorch twin run the same way.</summary>
public sealed record BackboneBench(TrainBench Step, int FrozenStages, string? TwinSkipped, double TwinStepSeconds)
{
    /// <summary>How many times faster than the PyTorch twin's step (above 1: VideoSsl is faster).</summary>
    public double TwinRatio => TwinStepSeconds / Step.StepSeconds;
}

/// <summary>
/// Two MPI ranks on this machine training the default backbone on one clip each (mpirun over loopback): the mean
/// time of a step and of rank 0's gradient allreduce within it (its wait for the other rank included), and the bytes allreduced a step.
/// </summary>
public sealed record AllreduceBench(string? Skipped, double StepSeconds, double AllreduceSeconds, long GradientBytes, int Steps)
{
    public double Share => AllreduceSeconds / StepSeconds;
}

/// <summary>
/// embed and train (the small backbone, so the rows measure the cost of a file and not the model) over a folder of
/// short clips against the same frames joined into one file, each run as a user runs it, side by side.
/// </summary>
public sealed record ManyFilesBench(int Files, long Frames, double OneFileSeconds, double FolderSeconds, ManyFilesTraining Training)
{
    public double Ratio => FolderSeconds / OneFileSeconds;

    /// <summary>What each file added, in seconds.</summary>
    public double SecondsPerFile => (FolderSeconds - OneFileSeconds) / Files;
}

/// <summary>
/// One training pass over the clips and over the joined file (two lanes, as train runs by default). The two passes
/// read the same frames but need not take the same number of steps (the sampler draws across the files of both
/// lanes), so the time a step takes is compared too.
/// </summary>
public sealed record ManyFilesTraining(int Frames, double OneFileSeconds, long OneFileSteps, double FolderSeconds, long FolderSteps)
{
    public double Ratio => FolderSeconds / OneFileSeconds;

    public double StepRatio => FolderSeconds / FolderSteps / (OneFileSeconds / OneFileSteps);
}

public sealed record BenchReport(string Machine, BenchOptions Options, DecodeBench? Decode, TrainBench Train, EndToEndBench? EndToEnd,
    RenderBench Render, TwinBench? Twin, double PeakMegabytes, BackboneBench? Backbone = null, AllreduceBench? Allreduce = null, ManyFilesBench? ManyFiles = null);

/// <summary>
/// bench: every stage measured in one process and one run, each against its ceiling, so the numbers are ratios
/// taken side by side on the same machine at the same moment rather than absolute times.
/// </summary>
public sealed class BenchRun(ILoggerFactory logs)
{
    // Steps before the train step and the end-to-end run are timed: the allocator growing to its working set, oneDNN
    // building its kernels, .NET compiling the step's managed code at full optimisation (after 30 calls) all make
    // the first steps slower.
    private const int WarmUpSteps = 30;

    private const int DecodeRuns = 7;

    private readonly ILogger _log = logs.CreateLogger("bench");

    public BenchReport Run(BenchOptions options, CancellationToken cancel)
    {
        if (!CpuClock.Available) throw new UserError("bench measures CPU time with getrusage, which this operating system lacks");
        var device = ComputeDevice.Resolve(options.Device);
        string machine = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, device {device.type}";
        if (options.TrainOnly)
            return new BenchReport(machine, options, null, BenchTrain(options, device), null,
                new RenderBench("not measured (--train-only)", "", 0, 0, 0, 1), null, CpuClock.PeakMegabytes, BenchBackbone(options, device));
        using var work = new TemporaryFolder();
        FfmpegTools.EnsureInstalled();
        string clip = MakeClip(work.Path, frames: 3300);
        var decode = BenchDecode(clip, options.Size, cancel);
        var train = BenchTrain(options, device);
        var endToEnd = BenchEndToEnd(clip, options, device, decode, train, work.Path, cancel);
        _log.LogInformation("bench: render, the overlay alone, headless at 640x360");
        var render = RenderBenchmark.Measure(640, 360, frames: 300);
        var twin = options.Twin ? BenchTwin(clip, options, work.Path, cancel) : null;
        var backbone = BenchBackbone(options, device);
        var allreduce = BenchAllreduce(clip, options, work.Path);
        var manyFiles = BenchManyFiles(work.Path);
        return new BenchReport(machine, options, decode, train, endToEnd, render, twin, CpuClock.PeakMegabytes, backbone, allreduce, manyFiles);
    }

    /// <summary>An H.264 clip of a moving synthetic scene, 640x360 at 30 frames/s.</summary>
    private string MakeClip(string folder, int frames)
    {
        string clip = Path.Combine(folder, "bench.mp4");
        _log.LogInformation("bench: making a {Frames}-frame H.264 clip", frames);
        RunTool("ffmpeg", ["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30", "-frames:v", frames.ToString(CultureInfo.InvariantCulture),
            "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", clip]);
        return clip;
    }

    private DecodeBench BenchDecode(string clip, int size, CancellationToken cancel)
    {
        var info = MediaProbe.Probe(clip, cancel);
        var settings = new DecodeSettings { Size = size };
        var item = DecodeSchedule.Files([(new VideoSource(0, clip, false), info)], 1, settings)[0];
        string filters = $"fps={item.Rate.ToString("0.######", CultureInfo.InvariantCulture)},scale={size}:{size}:flags=area,format=rgb24";
        string ffmpeg = FfmpegTools.Find("ffmpeg")!;
        // The same threading as the stage's FFmpeg: the ratio is the stage's cost over FFmpeg's doing the same work.
        string[] threads = FfmpegInputs.ThreadOptions(settings);

        // One unmeasured pass first: the first run of the decode stage also pays for .NET compiling its code (and
        // recompiling the hot parts at full optimisation), a one-time cost that is not the stage's per-frame cost.
        // Then the two alternate: single runs of either move by a few percent (FFmpeg's own threads, the machine),
        // more than the stage's overhead, so one ratio needs several pairs.
        _log.LogInformation("bench: decode, warm-up pass");
        DecodeAll(item, settings, cancel);
        var bareRuns = new List<(double Wall, double Cpu)>();
        var ourRuns = new List<(double Wall, double Cpu)>();
        long frames = 0;
        for (int run = 0; run < DecodeRuns; run++)
        {
            _log.LogInformation("bench: decode, bare ffmpeg then the decode stage ({Run} of {Runs})", run + 1, DecodeRuns);
            bareRuns.Add(CpuClock.Measure(() => RunTool(ffmpeg, ["-v", "error", "-nostdin", .. threads, "-i", clip, "-map", "0:v:0", "-an", "-vf", filters, "-f", "rawvideo", "-y", "/dev/null"])));
            ourRuns.Add(CpuClock.Measure(() => frames = DecodeAll(item, settings, cancel)));
        }
        var bare = bareRuns.OrderBy(r => r.Cpu).ElementAt(DecodeRuns / 2);
        var ours = ourRuns.OrderBy(r => r.Cpu).ElementAt(DecodeRuns / 2);
        double[] ratios = [.. ourRuns.Zip(bareRuns, (o, b) => o.Cpu / b.Cpu)];
        return new DecodeBench(frames, bare.Wall, bare.Cpu, ours.Wall, ours.Cpu, ratios);
    }

    /// <summary>The clip through the decode stage, read as the sampler reads file sources; returns the frames read.</summary>
    private long DecodeAll(DecodeWorkItem item, DecodeSettings settings, CancellationToken cancel)
    {
        long frames = 0;
        // A consumer that wakes once per burst of frames, as the sampler does when it reads files.
        var output = new Edge<DecodeOutput>("frames", settings.QueueFrames, wakeBurst: 8);
        var stage = new DecodeStage([item], [], settings, DecodeResumePoint.FromStart(1), null, logs.CreateLogger("decode"), output: output);
        stage.Start(cancel);
        while (true)
        {
            if (!output.Reader.TryRead(out var message))
            {
                output.WaitForBurst(cancel);
                if (!output.TryReadBlocking(out message, cancel)) break;
            }
            if (message.Frame is null) continue;
            frames++;
            message.Frame.Release();
        }
        stage.WaitAndRethrow();
        return frames;
    }

    private TrainBench BenchTrain(BenchOptions options, Device device)
    {
        _log.LogInformation("bench: train step, {Size} px, {Batch} pairs", options.Size, options.Batch);
        return TimeSteps(TwinsTrainer(new RunConfig().WithBackbone(BackboneKind.Small).Trainer), options.Size, options.Batch, options.Steps, WarmUpSteps, device);
    }

    /// <summary>
    /// The resnet18 backbone as train uses it by default (its frame size and adaptation), and the same step in
    /// PyTorch (twin/train_step.py --backbone resnet18): both random frames, both timed after a warm-up.
    /// </summary>
    private BackboneBench BenchBackbone(BenchOptions options, Device device)
    {
        var config = new RunConfig().WithBackbone(BackboneKind.ResNet18);
        var settings = TwinsTrainer(config.Trainer);
        int size = config.Decode.Size, steps = Math.Max(5, options.Steps / 2);
        _log.LogInformation("bench: resnet18 train step, {Size} px, {Batch} pairs, the first {Frozen} stages frozen", size, options.Batch, settings.Adapt.FreezeStages);
        var step = TimeSteps(settings, size, options.Batch, steps, warmUp: 5, device);
        string? python = PythonWith("import torch");
        if (python is null) return new BackboneBench(step, settings.Adapt.FreezeStages, "skipped: no python3 with torch", double.NaN);
        string script = Path.Combine(AppContext.BaseDirectory, "twin", "train_step.py");
        _log.LogInformation("bench: the same step in PyTorch");
        string json = RunTool(python, [script, "--backbone", "resnet18", "--size", $"{size}", "--batch", $"{options.Batch}", "--steps", $"{steps}",
            "--device", device.type == TorchSharp.DeviceType.CUDA ? "cuda" : "cpu", "--threads", $"{step.Threads}",
            "--freeze-stages", $"{settings.Adapt.FreezeStages}", "--backbone-lr-scale", settings.Adapt.BackboneLrScale.ToString(CultureInfo.InvariantCulture),
            "--batchnorm", Choice<BatchNormMode>.Name(settings.Adapt.BatchNorm)]);
        double twinSeconds = JsonDocument.Parse(json).RootElement.GetProperty("step_seconds").GetDouble();
        return new BackboneBench(step, settings.Adapt.FreezeStages, null, twinSeconds);
    }

    /// <summary>Mean step time of <paramref name="steps"/> steps on one random batch, alternating with the matmul ceiling.</summary>
    private static TrainBench TimeSteps(TrainerSettings settings, int size, int pairs, int steps, int warmUp, Device device)
    {
        using var session = new TrainingSession(settings, device, seed: 1);
        var batch = new TrainingBatch(pairs, size) { Count = pairs, FramesIngested = 0 };
        new Random(1).NextBytes(batch.Pixels);
        for (int i = 0; i < warmUp; i++) session.Train(batch);
        // The step and the matmul alternate in rounds and each sums its rounds: the machine's speed drifts by several
        // percent over seconds (other tenants, clocks), and measured one after the other the two caught different moments.
        using var matmul = new MatmulCeiling(device);
        int stepsPerRound = Math.Max(1, steps / CeilingRounds);
        double trainSeconds = 0;
        for (int round = 0; round < CeilingRounds; round++)
        {
            var watch = Stopwatch.StartNew();
            for (int i = 0; i < stepsPerRound; i++) session.Train(batch);
            if (device.type == TorchSharp.DeviceType.CUDA) cuda.synchronize();
            trainSeconds += watch.Elapsed.TotalSeconds;
            matmul.Run(seconds: 0.4);
        }
        double step = trainSeconds / (stepsPerRound * CeilingRounds);
        double flops = settings.Model.TrainingFlopsPerFrame(size, settings.Adapt.FreezeStages) * 2 * pairs;
        return new TrainBench(size, pairs, get_num_threads(), step, 2 * pairs / step, flops / step / 1e9, matmul.GflopPerSecond);
    }

    private const int CeilingRounds = 4;

    /// <summary>
    /// The step the Python twins implement: masked InfoNCE, crops to 70 % and colour jitter 0.2. The default graded
    /// loss costs the same on the device (one b x b target matrix more, built on the host), and without colour jitter
    /// (the default) the step skips one batched 3x3 colour product, so the timings hold for the defaults too.
    /// </summary>
    private static TrainerSettings TwinsTrainer(TrainerSettings settings) =>
        settings with
        {
            Loss = settings.Loss with { Kind = LossKind.InfoNce },
            Augment = settings.Augment with { CropMinScale = 0.7, ColorJitter = 0.2 },
            // The PyTorch twins keep no weight average: timing one would time a step they do not take.
            Optimizer = settings.Optimizer with { WeightAverage = 0 },
        };

    /// <summary>The machine's float32 matrix-multiply rate through LibTorch: the ceiling a training step can approach.</summary>
    private sealed class MatmulCeiling : IDisposable
    {
        private const int N = 1024;
        private readonly Device _device;
        private readonly Tensor _a, _b;
        private double _flops, _seconds;

        public MatmulCeiling(Device device)
        {
            _device = device;
            _a = rand(N, N, device: device);
            _b = rand(N, N, device: device);
            for (int i = 0; i < 3; i++) _a.mm(_b).Dispose();
        }

        public double GflopPerSecond => _flops / _seconds / 1e9;

        /// <summary>Multiplies for about <paramref name="seconds"/> and adds the work and the time to the totals.</summary>
        public void Run(double seconds)
        {
            int repeats = 0;
            var watch = Stopwatch.StartNew();
            while (watch.Elapsed.TotalSeconds < seconds)
            {
                _a.mm(_b).Dispose();
                repeats++;
            }
            if (_device.type == TorchSharp.DeviceType.CUDA) cuda.synchronize();
            _seconds += watch.Elapsed.TotalSeconds;
            _flops += 2.0 * N * N * N * repeats;
        }

        public void Dispose()
        {
            _a.Dispose();
            _b.Dispose();
        }
    }

    /// <summary>
    /// The clip through the training graph with anchors 0.6 s apart and one anchor per new frame, so that full
    /// batches start within seconds; frames/s are training frames (two per pair) over the steps after the first 20.
    /// </summary>
    private EndToEndBench BenchEndToEnd(string clip, BenchOptions options, Device device, DecodeBench decode, TrainBench train, string folder, CancellationToken cancel)
    {
        _log.LogInformation("bench: end to end");
        int steps = WarmUpSteps + Math.Max(40, options.Steps * 3);
        var config = new RunConfig
        {
            Sources = [clip],
            Out = Path.Combine(folder, "run"),
            Device = options.Device,
            Limits = new RunLimits { MaxSteps = steps },
            Decode = new DecodeSettings { Size = options.Size, ParallelSources = 1 },
            Sampler = new SamplerSettings { Batch = options.Batch, PosWindow = 0.1, NegGap = 0.5, SamplesPerFrame = 1, MinAnchors = options.Batch },
            Trainer = TwinsTrainer(new TrainerSettings { CheckpointEvery = steps * 10 }),
        };
        new TrainingGraph(logs).Run(config, null, overwrite: true, observer: null, cancel);
        var metrics = File.ReadLines(Path.Combine(config.Out, RunDirectory.MetricsFile)).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        // Timed after the same warm-up as the train step, so that the bound and the run are alike.
        var steady = metrics.Skip(WarmUpSteps).ToList();
        double seconds = steady[^1].GetProperty("time_s").GetDouble() - metrics[WarmUpSteps - 1].GetProperty("time_s").GetDouble();
        double frames = steady.Sum(m => 2.0 * m.GetProperty("pairs").GetInt32());
        int cores = Environment.ProcessorCount;
        // Per training frame: its decoded frame serves one anchor (two training frames), and training uses the threads it has.
        double decodeCpu = decode.CpuSeconds / decode.Frames / 2;
        double trainCpu = train.Threads / train.FramesPerSecond;
        double bound = cores / (decodeCpu + trainCpu);
        return new EndToEndBench(frames / seconds, bound, decodeCpu, trainCpu, cores);
    }

    private TwinBench BenchTwin(string clip, BenchOptions options, string folder, CancellationToken cancel)
    {
        string script = Path.Combine(AppContext.BaseDirectory, "twin", "pipeline.py");
        if (!File.Exists(script)) return new TwinBench($"the twin script is missing ({script})", double.NaN, double.NaN, 0);
        string? python = PythonWith("import torch, av, numpy");
        if (python is null)
            return new TwinBench("skipped: no python3 with torch, av and numpy (apt-get install python3-torch python3-av)", double.NaN, double.NaN, 0);
        int steps = Math.Max(40, options.Steps * 3);
        string[] common = ["--size", $"{options.Size}", "--batch", $"{options.Batch}", "--steps", $"{steps}"];
        _log.LogInformation("bench: the Python twin, {Steps} steps", steps);
        var twin = Stopwatch.StartNew();
        RunTool(python, [script, "--clip", clip, .. common]);
        double twinSeconds = twin.Elapsed.TotalSeconds;
        _log.LogInformation("bench: the same with VideoSsl, as a process");
        // The twin's encoder (the small one), loss and augmentation, from the settings the other sections use, not the
        // command line's defaults (since resnet18 became train's default, a run without --backbone would time another model).
        var twinsTrainer = TwinsTrainer(new TrainerSettings());
        var ours = Stopwatch.StartNew();
        RunTool("dotnet", [Path.Combine(AppContext.BaseDirectory, "videossl.dll"), "train", "--source", clip, "--out", Path.Combine(folder, "twin-run"),
            "--overwrite", "--device", Choice<DeviceChoice>.Name(options.Device), "--backbone", "small", "--max-steps", $"{steps}", "--size", $"{options.Size}", "--batch", $"{options.Batch}",
            "--pos-window", "0.1", "--neg-gap", "0.5", "--samples-per-frame", "1", "--min-anchors", $"{options.Batch}", "--checkpoint-every", $"{steps * 10}",
            "--loss", Choice<LossKind>.Name(twinsTrainer.Loss.Kind), "--crop-min-scale", twinsTrainer.Augment.CropMinScale.ToString(CultureInfo.InvariantCulture),
            "--color-jitter", twinsTrainer.Augment.ColorJitter.ToString(CultureInfo.InvariantCulture)]);
        return new TwinBench(null, ours.Elapsed.TotalSeconds, twinSeconds, steps);
    }

    /// <summary>
    /// mpirun -np 2 of train with the default backbone, one LibTorch thread a rank (two ranks on two cores), a copy of
    /// the clip for each rank; the first steps are left out (start-up, allocator warm-up), the rest averaged from metrics.jsonl.
    /// </summary>
    private AllreduceBench BenchAllreduce(string clip, BenchOptions options, string folder)
    {
        const int steps = 14, skipped = 4;
        var settings = new RunConfig().WithBackbone(BackboneKind.ResNet18).Trainer;
        long bytes;
        using (var session = new TrainingSession(settings, CPU, seed: 1))
            bytes = 4 * session.Model.parameters().Where(p => p.requires_grad).Sum(p => p.numel());
        try { RunTool("mpirun", ["--version"]); }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return new AllreduceBench("skipped: no mpirun (apt-get install openmpi-bin, or scripts/setup)", double.NaN, double.NaN, bytes, 0);
        }
        string clips = Path.Combine(folder, "ranks");
        Directory.CreateDirectory(clips);
        foreach (string name in new[] { "rank0.mp4", "rank1.mp4" }) File.Copy(clip, Path.Combine(clips, name), overwrite: true);
        string run = Path.Combine(folder, "mpi-run");
        _log.LogInformation("bench: allreduce, mpirun -np 2 train (resnet18, one thread a rank), {Steps} steps", steps);
        RunTool("mpirun", ["--oversubscribe", "-np", "2", "dotnet", Path.Combine(AppContext.BaseDirectory, "videossl.dll"), "train", "--source", clips,
            "--out", run, "--overwrite", "--device", "cpu", "--max-steps", $"{steps}", "--threads", "1", "--view", "none", "--checkpoint-every", $"{steps * 10}",
            "--batch", $"{options.Batch}", "--min-anchors", $"{options.Batch}"],
            new Dictionary<string, string>
            {
                ["OMPI_ALLOW_RUN_AS_ROOT"] = "1", ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1", ["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none", ["TERM"] = "dumb",
            });
        var lines = File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).Skip(skipped).ToList();
        if (lines.Count == 0) return new AllreduceBench("no step to measure (rank 0 trained no batch)", double.NaN, double.NaN, bytes, 0);
        return new AllreduceBench(null, lines.Average(l => l.GetProperty("step_s").GetDouble()), lines.Average(l => l.GetProperty("allreduce_s").GetDouble()), bytes, lines.Count);
    }

    /// <summary>100 clips of 3 s (24 frames/s, 320x240) and the same frames in one file; embed over each, twice, alternating; the faster run of each counts.</summary>
    private ManyFilesBench BenchManyFiles(string folder)
    {
        const int files = 100;
        string clips = Path.Combine(folder, "short-clips");
        Directory.CreateDirectory(clips);
        _log.LogInformation("bench: many short files, making {Files} clips of 3 s and the same frames in one file", files);
        var list = new StringBuilder();
        for (int i = 0; i < files; i++)
        {
            string clip = Path.Combine(clips, $"clip{i:000}.mp4");
            RunTool("ffmpeg", ["-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i", $"testsrc2=size=320x240:rate=24", "-t", "3", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", clip]);
            list.Append(CultureInfo.InvariantCulture, $"file '{clip}'\n");
        }
        string listFile = Path.Combine(folder, "clips.txt"), joined = Path.Combine(folder, "joined.mp4");
        File.WriteAllText(listFile, list.ToString());
        RunTool("ffmpeg", ["-v", "error", "-nostdin", "-y", "-f", "concat", "-safe", "0", "-i", listFile, "-c", "copy", joined]);
        string program = Path.Combine(AppContext.BaseDirectory, "videossl.dll"), run = Path.Combine(folder, "small-run");
        RunTool("dotnet", [program, "train", "--backbone", "small", "--source", joined, "--out", run, "--overwrite", "--max-steps", "1", "--device", "cpu", "--view", "none"]);
        double Embed(string source)
        {
            var watch = Stopwatch.StartNew();
            RunTool("dotnet", [program, "embed", "--checkpoint", run, "--source", source, "--out", Path.Combine(folder, "many.npy"), "--device", "cpu"]);
            return watch.Elapsed.TotalSeconds;
        }
        double one = double.MaxValue, many = double.MaxValue;
        for (int round = 0; round < 2; round++)
        {
            one = Math.Min(one, Embed(joined));
            many = Math.Min(many, Embed(clips));
        }
        long frames = NpyRows(Path.Combine(folder, "many.npy"));
        // 12 frames/s and one anchor per frame: a pass of about 250 steps, still paced by the steps like real training.
        (double Seconds, long Steps, long Frames) Train(string source)
        {
            string trained = Path.Combine(folder, "train-pass");
            var watch = Stopwatch.StartNew();
            RunTool("dotnet", [program, "train", "--backbone", "small", "--source", source, "--out", trained, "--overwrite", "--device", "cpu", "--view", "none",
                "--batch", "16", "--fps", "12", "--samples-per-frame", "1"]);
            double seconds = watch.Elapsed.TotalSeconds;
            using var summary = JsonDocument.Parse(File.ReadAllText(Path.Combine(trained, "summary.json")));
            return (seconds, summary.RootElement.GetProperty("steps").GetInt64(), summary.RootElement.GetProperty("frames-seen").GetInt64());
        }
        (double Seconds, long Steps, long Frames) oneTrain = (double.MaxValue, 0, 0), manyTrain = (double.MaxValue, 0, 0);
        for (int round = 0; round < 2; round++)
        {
            if (Train(joined) is var a && a.Seconds < oneTrain.Seconds) oneTrain = a;
            if (Train(clips) is var b && b.Seconds < manyTrain.Seconds) manyTrain = b;
        }
        _log.LogInformation("bench: many files, train {OneSteps} steps over one file, {ManySteps} over the clips", oneTrain.Steps, manyTrain.Steps);
        return new ManyFilesBench(files, frames, one, many,
            new ManyFilesTraining((int)manyTrain.Frames, oneTrain.Seconds, oneTrain.Steps, manyTrain.Seconds, manyTrain.Steps));
    }

    private static long NpyRows(string path)
    {
        using var reader = new StreamReader(path);
        var header = new char[128];
        reader.ReadBlock(header, 0, header.Length);
        string text = new(header);
        int open = text.IndexOf("'shape': (", StringComparison.Ordinal) + 10;
        return long.Parse(text[open..text.IndexOf(',', open)], CultureInfo.InvariantCulture);
    }

    /// <summary>A python3 that runs <paramref name="imports"/>: the first Python on PATH may be a private one (pyenv, venv) without PyTorch; Debian's packages live in /usr/bin's.</summary>
    private static string? PythonWith(string imports) => new[] { "python3", "/usr/bin/python3" }.FirstOrDefault(candidate =>
    {
        try { RunTool(candidate, ["-c", imports]); return true; }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception) { return false; }
    });

    /// <summary>Runs a tool to its end and returns what it printed; a failure throws with its last line of errors.</summary>
    private static string RunTool(string tool, string[] arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        foreach (var (name, value) in environment ?? new Dictionary<string, string>()) start.Environment[name] = value;
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{tool} did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"{tool} failed: {error.Trim().Split('\n')[^1]}");
        return output.Result;
    }

    private sealed class TemporaryFolder : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("videossl-bench-").FullName;

        public void Dispose()
        {
            try { Directory.Delete(Path, true); } catch (IOException) { }
        }
    }
}
