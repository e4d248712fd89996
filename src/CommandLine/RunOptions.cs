using System.CommandLine;
using System.Globalization;
using VideoSsl.Engine;
using VideoSsl.Messages.Overlay;
using VideoSsl.Graph;
using VideoSsl.Learning;
using VideoSsl.Sampling;

namespace VideoSsl.CommandLine;

/// <summary>
/// The options that set a run's configuration (<see cref="RunConfig"/>), shared by <c>train</c> and <c>demo</c>, each
/// declared once: its name, what it does, and where it lives in the configuration. The default a user sees in
/// <c>--help</c> is read from the configuration the command starts from, so every default is written once, in its
/// settings record (<c>demo</c>, which starts from other defaults, shows its own). An option applies only when given,
/// so defaults, a --config file and the command line layer cleanly.
/// </summary>
public static class RunOptions
{
    /// <summary>One option of a run: how it is added to a command and how its value, when given, changes the configuration.</summary>
    public sealed record Declaration(string Name, Func<RunConfig, string, Option> Create, Func<ParseResult, Option, RunConfig, RunConfig> Apply);

    public static readonly IReadOnlyList<Declaration> Run =
    [
        // First: applied before the others, so that options given with it override the defaults it brings.
        Pick("--backbone", "The encoder's backbone: resnet18 (ImageNet's ResNet-18, adapted) or small (four conv blocks: fast live demos, footage ImageNet does not cover); also brings that backbone's defaults for --size, --init, the adaptation options, --weight-average and the graded loss's --time-falloff, --falloff-power and --time-scale, which still apply when given", c => c.Trainer.Model.Backbone, (c, v) => c.WithBackbone(v)),
        Number<int>("--epochs", "Passes over the file sources", c => c.Limits.Epochs, (c, v) => c with { Limits = c.Limits with { Epochs = v } }),
        Number<long>("--max-steps", "Stop after N optimizer steps in total", c => c.Limits.MaxSteps, (c, v) => c with { Limits = c.Limits with { MaxSteps = v } }),
        Number<long>("--max-frames", "Stop after N decoded frames in total", c => c.Limits.MaxFrames, (c, v) => c with { Limits = c.Limits with { MaxFrames = v } }),
        Number<double>("--max-seconds", "Stop after S seconds of wall time", c => c.Limits.MaxSeconds, (c, v) => c with { Limits = c.Limits with { MaxSeconds = v } }),
        Pick("--device", "Where the model runs: auto (CUDA when LibTorch sees a GPU, else the CPU), cpu or cuda", c => c.Device, (c, v) => c with { Device = v }),
        Number<long>("--seed", "Random seed: same seed, same data and same weights on the CPU", c => c.Seed, (c, v) => c with { Seed = v }),
        Number<int>("--threads", "LibTorch threads", c => c.Trainer.Threads, (c, v) => c with { Trainer = c.Trainer with { Threads = v } }, zero: "one per core"),
        Number<int>("--size", "Frame size in pixels, square (resnet18: a multiple of 32)", c => c.Decode.Size, (c, v) => c with { Decode = c.Decode with { Size = v } }),
        Number<double>("--fps", "Resample every source to F frames/s", c => c.Decode.Fps, (c, v) => c with { Decode = c.Decode with { Fps = v } }, unset: "each source's own rate"),
        Flag("--realtime", "Read files at their own frame rate, as if live (frames the learner cannot take are dropped)", c => c with { Decode = c.Decode with { Realtime = true } }),
        Number<double>("--keep-recent", "Keep the last MINUTES of each live source as video in RUN_DIR/recent/ (for eval --in-stream)", c => c.Decode.KeepRecentMinutes, (c, v) => c with { Decode = c.Decode with { KeepRecentMinutes = v } }),
        Text("--camera-size", "Capture size asked of a webcam, WIDTHxHEIGHT", c => c.Decode.CameraSize, (c, v) => c with { Decode = c.Decode with { CameraSize = v } }),
        Number<double>("--camera-fps", "Capture rate asked of a webcam", c => c.Decode.CameraFps, (c, v) => c with { Decode = c.Decode with { CameraFps = v } }),
        Number<double>("--read-timeout", "Seconds of silence after which a network stream counts as dropped", c => c.Decode.ReadTimeoutSeconds, (c, v) => c with { Decode = c.Decode with { ReadTimeoutSeconds = v } }),
        Number<double>("--reconnect-max", "Longest wait, in seconds, between attempts to reopen a dropped live source", c => c.Decode.ReconnectMaxSeconds, (c, v) => c with { Decode = c.Decode with { ReconnectMaxSeconds = v } }),
        Number<int>("--parallel-sources", "Sources decoded at once, mixed in every batch", c => c.Decode.ParallelSources, (c, v) => c with { Decode = c.Decode with { ParallelSources = v } }),
        Number<int>("--ffmpeg-threads", "Decoding and filtering threads per FFmpeg process (1 costs the least CPU per frame, for many sources at once)", c => c.Decode.FfmpegThreads, (c, v) => c with { Decode = c.Decode with { FfmpegThreads = v } }, zero: "0, FFmpeg's choice"),
        Number<int>("--batch", "Anchor/positive pairs per step; a step trains on twice as many frames", c => c.Sampler.Batch, (c, v) => c with { Sampler = c.Sampler with { Batch = v } }),
        Number<double>("--pos-window", "Seconds within which a frame is a positive for its anchor", c => c.Sampler.PosWindow, (c, v) => c with { Sampler = c.Sampler with { PosWindow = v } }),
        Number<double>("--neg-gap", "Seconds apart that anchors of one source must stand; closer pairs are masked out of infonce and triplet", c => c.Sampler.NegGap, (c, v) => c with { Sampler = c.Sampler with { NegGap = v } }),
        Number<int>("--positives", "Positives per anchor, each a different frame within pos-window; above 1 all of them count as the anchor's positives (graded: soft targets; infonce: multi-positive InfoNCE)", c => c.Sampler.Positives, (c, v) => c with { Sampler = c.Sampler with { Positives = v } }),
        Number<double>("--samples-per-frame", "Anchors drawn per newly decoded frame of a file", c => c.Sampler.SamplesPerFrame, (c, v) => c with { Sampler = c.Sampler with { SamplesPerFrame = v } }),
        Number<double>("--ring-seconds", "Seconds of recent frames buffered per source", c => c.Sampler.RingSeconds, (c, v) => c with { Sampler = c.Sampler with { RingSeconds = v } }, unset: "batch x (neg-gap + pos-window)"),
        Number<int>("--min-anchors", "Smallest batch trained on while buffers fill", c => c.Sampler.MinAnchors, (c, v) => c with { Sampler = c.Sampler with { MinAnchors = v } }, unset: "batch/4, at least 2"),
        Number<int>("--buffer-mb", "Memory for buffered frames, in MB", c => c.Sampler.BufferMegabytes, (c, v) => c with { Sampler = c.Sampler with { BufferMegabytes = v } }),
        Number<double>("--replay", "Share of each batch's anchors replayed from a memory of older pairs, against forgetting on streams", c => c.Sampler.Replay, (c, v) => c with { Sampler = c.Sampler with { Replay = v } }),
        Pick("--replay-policy", "What a full replay memory lets go: reservoir (uniform over the run) or diverse (the pair most like another kept one)", c => c.Sampler.ReplayPolicy, (c, v) => c with { Sampler = c.Sampler with { ReplayPolicy = v } }),
        Number<int>("--replay-size", "Pairs the replay memory keeps", c => c.Sampler.ReplaySize, (c, v) => c with { Sampler = c.Sampler with { ReplaySize = v } }),
        Pick("--init", "Where the backbone's weights start: imagenet (resnet18 only) or scratch", c => c.Trainer.Model.Init, (c, v) => c with { Trainer = c.Trainer with { Model = c.Trainer.Model with { Init = v } } }),
        Number<int>("--freeze-stages", "The first N backbone stages keep their weights and BatchNorm statistics", c => c.Trainer.Adapt.FreezeStages, (c, v) => c with { Trainer = c.Trainer with { Adapt = c.Trainer.Adapt with { FreezeStages = v } } }, zero: "0, every stage trains"),
        Number<double>("--backbone-lr-scale", "The backbone's learning rate as a share of --lr (the head's)", c => c.Trainer.Adapt.BackboneLrScale, (c, v) => c with { Trainer = c.Trainer with { Adapt = c.Trainer.Adapt with { BackboneLrScale = v } } }),
        Number<double>("--imagenet-pull", "Each step pulls the trained backbone weights back towards ImageNet's by this many times the backbone's learning rate of their distance (L2-SP), against forgetting", c => c.Trainer.Adapt.ImageNetPull, (c, v) => c with { Trainer = c.Trainer with { Adapt = c.Trainer.Adapt with { ImageNetPull = v } } }, zero: "0, off"),
        Number<double>("--weight-average", "Embed, measure and export an exponential moving average of the weights along the run, decaying by this much a step (e.g. 0.99), instead of the last step's weights", c => c.Trainer.Optimizer.WeightAverage, (c, v) => c with { Trainer = c.Trainer with { Optimizer = c.Trainer.Optimizer with { WeightAverage = v } } }, zero: "0, off"),
        Pick("--batchnorm", "Backbone BatchNorm in training: adapted (batch statistics, running ones updated) or frozen (the statistics it started with)", c => c.Trainer.Adapt.BatchNorm, (c, v) => c with { Trainer = c.Trainer with { Adapt = c.Trainer.Adapt with { BatchNorm = v } } }),
        Text("--pooled-stages", "Backbone stages whose pooled features make the embedding, e.g. 3,4", c => c.Trainer.Model.PooledStages is { } s ? string.Join(",", s) : null, (c, v) => c with { Trainer = c.Trainer with { Model = c.Trainer.Model with { PooledStages = Cli.IntList("--pooled-stages", v) } } }, unset: "every stage"),
        Flag("--keep-imagenet", "Keep the ImageNet backbone, untrained, beside the adapted one: the embedding holds both one's pooled stages", c => c with { Trainer = c.Trainer with { Model = c.Trainer.Model with { KeepImageNet = true } } }),
        Flag("--centre", "Centre the embedding: each pooled stage's features less their mean over the training frames (kept in the model as it trains), normalised again (SimpleShot's CL2N)", c => c with { Trainer = c.Trainer with { Model = c.Trainer.Model with { Centre = true } } }),
        Flag("--no-centre", "The embedding is the pooled stages' features as they are", c => c with { Trainer = c.Trainer with { Model = c.Trainer.Model with { Centre = false } } }),
        Flag("--no-keep-imagenet", "The embedding holds the adapted backbone's features only", c => c with { Trainer = c.Trainer with { Model = c.Trainer.Model with { KeepImageNet = false } } }),
        Texts("--eval-source", "Held-out clips (files or folders) the online monitor measures every --eval-every steps: balanced AUC, tau and mAP into metrics.jsonl and the overlay; best.ckpt then follows their AUC", c => c.Monitor.Sources, (c, v) => c with { Monitor = c.Monitor with { Sources = v } }),
        Number<double>("--holdout-tail", "Keep the last share of each training file (e.g. 0.2) out of training and let the online monitor measure it instead of --eval-source clips: held-out frames of your own footage, later than any trained on", c => c.Monitor.HoldoutTail, (c, v) => c with { Monitor = c.Monitor with { HoldoutTail = v } }, zero: "0, off"),
        Number<int>("--eval-every", "Steps between the online monitor's measurements", c => c.Monitor.Every, (c, v) => c with { Monitor = c.Monitor with { Every = v } }),
        Number<double>("--eval-fps", "Frames per second the online monitor takes from each clip", c => c.Monitor.Fps, (c, v) => c with { Monitor = c.Monitor with { Fps = v } }),
        Number<int>("--width", "Encoder width multiplier: 1 = 32-64-128-256 channels, 2 = twice as wide", c => c.Trainer.Model.Width, (c, v) => c with { Trainer = c.Trainer with { Model = c.Trainer.Model with { Width = v } } }),
        Pick("--loss", "graded (InfoNCE with soft targets falling with the time gap, see --time-scale), infonce (symmetric, masked) or triplet (TCN-style)", c => c.Trainer.Loss.Kind, (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { Kind = v } } }),
        Number<double>("--temperature", "InfoNCE temperature", c => c.Trainer.Loss.Temperature, (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { Temperature = v } } }),
        Number<double>("--order-weight", "Weight of the time-order term: among anchors of one source, nearer in time should be more similar (0: off)", c => c.Trainer.Loss.OrderWeight, (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { OrderWeight = v } } }),
        Number<double>("--time-scale", "Seconds over which the graded loss's targets fall by a factor e (--time-falloff exponential) or halve (power, --falloff-power 1)", c => c.Trainer.Loss.TimeScale, (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { TimeScale = v } } }),
        Number<double>("--video-weight", "Target weight the graded loss gives every frame of the anchor's own video, whatever the time gap", c => c.Trainer.Loss.VideoWeight, (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { VideoWeight = v } } }),
        Pick("--time-falloff", "How the graded loss's targets fall with the time gap: exponential (exp(-gap/time-scale)) or power ((1 + gap/time-scale)^-falloff-power, heavy-tailed: long gaps stay ordered)", c => c.Trainer.Loss.Falloff, (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { Falloff = v } } }),
        Number<double>("--falloff-power", "Exponent of --time-falloff power", c => c.Trainer.Loss.FalloffPower, (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { FalloffPower = v } } }),
        Number<double>("--margin", "Triplet margin", c => c.Trainer.Loss.Margin, (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { Margin = v } } }),
        Number<double>("--lr", "AdamW learning rate", c => c.Trainer.Optimizer.LearningRate, (c, v) => c with { Trainer = c.Trainer with { Optimizer = c.Trainer.Optimizer with { LearningRate = v } } }),
        Flag("--scale-lr", "Under mpirun, multiply --lr by the number of ranks (the linear scaling rule: K ranks train on a K times larger batch)", c => c with { Trainer = c.Trainer with { Optimizer = c.Trainer.Optimizer with { ScaleLrWithRanks = true } } }),
        Number<double>("--weight-decay", "AdamW weight decay", c => c.Trainer.Optimizer.WeightDecay, (c, v) => c with { Trainer = c.Trainer with { Optimizer = c.Trainer.Optimizer with { WeightDecay = v } } }),
        Number<int>("--checkpoint-every", "Steps between checkpoints; one is always written at the end", c => c.Trainer.CheckpointEvery, (c, v) => c with { Trainer = c.Trainer with { CheckpointEvery = v } }),
        Number<int>("--keep-checkpoints", "Most recent checkpoints kept", c => c.Trainer.KeepCheckpoints, (c, v) => c with { Trainer = c.Trainer with { KeepCheckpoints = v } }),
        Number<double>("--crop-min-scale", "Smallest random crop, as a share of the frame's area", c => c.Trainer.Augment.CropMinScale, (c, v) => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { CropMinScale = v } } }),
        Number<double>("--color-jitter", "Brightness, contrast and saturation jitter strength (colour tells videos apart)", c => c.Trainer.Augment.ColorJitter, (c, v) => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { ColorJitter = v } } }),
        Number<double>("--flip-probability", "Chance of a horizontal flip per view (flips erase left/right motion)", c => c.Trainer.Augment.FlipProbability, (c, v) => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { FlipProbability = v } } }),
        Number<double>("--gray-probability", "Chance of a grayscale view", c => c.Trainer.Augment.GrayProbability, (c, v) => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { GrayProbability = v } } }),
        Flag("--no-augment", "Train on the frames as decoded, without crops, flips or colour jitter", c => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { Enabled = false } } }),
    ];

    /// <summary>The overlay's options.</summary>
    public static readonly IReadOnlyList<Declaration> View =
    [
        Pick("--view", "Show the live overlay: auto (a window where a display exists, else headless, else none), window, headless or none", c => c.View.View, (c, v) => c with { View = c.View with { View = v } }),
        Number<double>("--render-fps", "Overlay frames per second", c => c.View.RenderFps, (c, v) => c with { View = c.View with { RenderFps = v } }),
        Text("--display-size", "Size the frame is shown at, WIDTHxHEIGHT", c => c.View.DisplaySize, (c, v) => c with { View = c.View with { DisplaySize = v } }, unset: "640 wide, the first source's shape"),
        Text("--record", "Encode the overlay into this video (H.264 .mp4 through FFmpeg)", c => c.View.Record, (c, v) => c with { View = c.View with { Record = v } }),
        Number<int>("--snapshot-every", "Write a PNG of every Nth overlay frame into --snapshot-dir", c => c.View.SnapshotEvery, (c, v) => c with { View = c.View with { SnapshotEvery = v } }),
        Text("--snapshot-dir", "Folder for --snapshot-every PNGs", c => c.View.SnapshotDir, (c, v) => c with { View = c.View with { SnapshotDir = v } }),
        Number<double>("--heatmap-opacity", "Heatmap opacity over the frame, 0 to 1", c => c.View.HeatmapOpacity, (c, v) => c with { View = c.View with { HeatmapOpacity = v } }),
        Text("--shaders", "Folder of the overlay's shaders", c => c.View.Shaders, (c, v) => c with { View = c.View with { Shaders = v } }, unset: "the repository's shaders/"),
    ];

    /// <summary>
    /// Adds <paramref name="declarations"/> to <paramref name="command"/>, their help showing the defaults of
    /// <paramref name="defaults"/>, and returns how each changes a configuration when given.
    /// </summary>
    public static List<Func<ParseResult, RunConfig, RunConfig>> Add(Command command, RunConfig defaults, params IReadOnlyList<Declaration>[] declarations)
    {
        var settings = new List<Func<ParseResult, RunConfig, RunConfig>>();
        foreach (var declaration in declarations.SelectMany(d => d))
        {
            var option = declaration.Create(defaults, declaration.Name);
            command.Options.Add(option);
            settings.Add((parse, config) => declaration.Apply(parse, option, config));
        }
        return settings;
    }

    private static string Help(string description, string? shown) => shown is null ? description : $"{description} (default {shown})";

    private static Declaration Number<T>(string name, string description, Func<RunConfig, T?> get, Func<RunConfig, T, RunConfig> set, string? unset = null, string? zero = null)
        where T : struct, IParsable<T>, IFormattable => new(name,
            (defaults, n) =>
            {
                T? value = get(defaults);
                string? shown = value is { } v ? (zero is not null && v.Equals(default(T)) ? zero : v.ToString(null, CultureInfo.InvariantCulture)) : unset;
                return Cli.Numeric(new Option<T?>(n) { Description = Help(description, shown) });
            },
            (parse, option, config) => parse.GetValue((Option<T?>)option) is { } value ? set(config, value) : config);

    private static Declaration Pick<T>(string name, string description, Func<RunConfig, T> get, Func<RunConfig, T, RunConfig> set) where T : struct, Enum => new(name,
        (defaults, n) => Cli.Choice(new Option<T?>(n) { Description = Help(description, Choice<T>.Name(get(defaults))) }),
        (parse, option, config) => parse.GetValue((Option<T?>)option) is { } value ? set(config, value) : config);

    private static Declaration Text(string name, string description, Func<RunConfig, string?> get, Func<RunConfig, string, RunConfig> set, string? unset = null) => new(name,
        (defaults, n) => new Option<string?>(n) { Description = Help(description, get(defaults) ?? unset) },
        (parse, option, config) => parse.GetValue((Option<string?>)option) is { } value ? set(config, value) : config);

    private static Declaration Texts(string name, string description, Func<RunConfig, IReadOnlyList<string>> get, Func<RunConfig, string[], RunConfig> set) => new(name,
        (defaults, n) => new Option<string[]>(n) { Description = Help(description, get(defaults) is { Count: > 0 } v ? string.Join(" ", v) : "none"), AllowMultipleArgumentsPerToken = true },
        (parse, option, config) => parse.GetValue((Option<string[]>)option) is { Length: > 0 } value ? set(config, value) : config);

    private static Declaration Flag(string name, string description, Func<RunConfig, RunConfig> apply) => new(name,
        (_, n) => new Option<bool>(n) { Description = description },
        (parse, option, config) => parse.GetValue((Option<bool>)option) ? apply(config) : config);
}
