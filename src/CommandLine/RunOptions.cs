using System.CommandLine;
using VideoSsl.Graph;

namespace VideoSsl.CommandLine;

/// <summary>
/// The options that set a run's configuration (<see cref="RunConfig"/>), shared by <c>train</c> and <c>demo</c>: each
/// applies to the configuration only when given, so defaults, a --config file and the command line layer cleanly.
/// </summary>
public static class RunOptions
{
    public static List<Func<ParseResult, RunConfig, RunConfig>> Add(Command command)
    {
        var settings = new List<Func<ParseResult, RunConfig, RunConfig>>();
        Setting<int>(command, settings, "--epochs", "Passes over the file sources (default 1)", (c, v) => c with { Limits = c.Limits with { Epochs = v } });
        Setting<long>(command, settings, "--max-steps", "Stop after N optimizer steps in total", (c, v) => c with { Limits = c.Limits with { MaxSteps = v } });
        Setting<long>(command, settings, "--max-frames", "Stop after N decoded frames in total", (c, v) => c with { Limits = c.Limits with { MaxFrames = v } });
        Setting<double>(command, settings, "--max-seconds", "Stop after S seconds of wall time", (c, v) => c with { Limits = c.Limits with { MaxSeconds = v } });
        Text(command, settings, "--device", "auto (CUDA when present), cpu or cuda (default auto)", (c, v) => c with { Device = v });
        Setting<long>(command, settings, "--seed", "Random seed: same seed, same data and same weights on the CPU (default 1234)", (c, v) => c with { Seed = v });
        Setting<int>(command, settings, "--threads", "LibTorch threads (default: one per core)", (c, v) => c with { Trainer = c.Trainer with { Threads = v } });
        Setting<int>(command, settings, "--size", "Frame size in pixels, square (default 96)", (c, v) => c with { Decode = c.Decode with { Size = v } });
        Setting<double>(command, settings, "--fps", "Resample every source to F frames/s (default: each source's own rate)", (c, v) => c with { Decode = c.Decode with { Fps = v } });
        Flag(command, settings, "--realtime", "Read files at their own frame rate, as if live (frames the learner cannot take are dropped)", c => c with { Decode = c.Decode with { Realtime = true } });
        Setting<double>(command, settings, "--keep-recent", "Keep the last MINUTES of each live source as video in RUN_DIR/recent/ (for eval --in-stream)", (c, v) => c with { Decode = c.Decode with { KeepRecentMinutes = v } });
        Text(command, settings, "--camera-size", "Capture size asked of a webcam, WIDTHxHEIGHT (default 640x480)", (c, v) => c with { Decode = c.Decode with { CameraSize = v } });
        Setting<double>(command, settings, "--camera-fps", "Capture rate asked of a webcam (default 30)", (c, v) => c with { Decode = c.Decode with { CameraFps = v } });
        Setting<double>(command, settings, "--read-timeout", "Seconds of silence after which a network stream counts as dropped (default 5)", (c, v) => c with { Decode = c.Decode with { ReadTimeoutSeconds = v } });
        Setting<double>(command, settings, "--reconnect-max", "Longest wait between attempts to reopen a dropped live source (default 30 s)", (c, v) => c with { Decode = c.Decode with { ReconnectMaxSeconds = v } });
        Setting<int>(command, settings, "--parallel-sources", "Sources decoded at once, mixed in every batch (default 2)", (c, v) => c with { Decode = c.Decode with { ParallelSources = v } });
        Setting<int>(command, settings, "--ffmpeg-threads", "Decoding and filtering threads per FFmpeg process (default 0: FFmpeg's choice; 1 costs the least CPU per frame, for many sources at once)", (c, v) => c with { Decode = c.Decode with { FfmpegThreads = v } });
        Setting<int>(command, settings, "--batch", "Anchor/positive pairs per step; a step trains on twice as many frames (default 32)", (c, v) => c with { Sampler = c.Sampler with { Batch = v } });
        Setting<double>(command, settings, "--pos-window", "Seconds within which a frame is a positive for its anchor (default 0.5)", (c, v) => c with { Sampler = c.Sampler with { PosWindow = v } });
        Setting<double>(command, settings, "--neg-gap", "Seconds apart that anchors of one source must stand; closer pairs are masked out of infonce and triplet (default 2)", (c, v) => c with { Sampler = c.Sampler with { NegGap = v } });
        Setting<int>(command, settings, "--positives", "Positives per anchor, each a different frame within pos-window; above 1 all of them count as the anchor's positives (graded: soft targets; infonce: multi-positive InfoNCE) (default 1)", (c, v) => c with { Sampler = c.Sampler with { Positives = v } });
        Setting<double>(command, settings, "--samples-per-frame", "Anchors drawn per newly decoded frame of a file (default 4)", (c, v) => c with { Sampler = c.Sampler with { SamplesPerFrame = v } });
        Setting<double>(command, settings, "--ring-seconds", "Seconds of recent frames buffered per source (default: batch x (neg-gap + pos-window))", (c, v) => c with { Sampler = c.Sampler with { RingSeconds = v } });
        Setting<int>(command, settings, "--min-anchors", "Smallest batch trained on while buffers fill (default batch/4, at least 2)", (c, v) => c with { Sampler = c.Sampler with { MinAnchors = v } });
        Setting<int>(command, settings, "--buffer-mb", "Memory for buffered frames (default 1024)", (c, v) => c with { Sampler = c.Sampler with { BufferMegabytes = v } });
        Setting<double>(command, settings, "--replay", "Share of each batch's anchors replayed from a reservoir of older pairs, against forgetting on streams (default 0)", (c, v) => c with { Sampler = c.Sampler with { Replay = v } });
        Text(command, settings, "--replay-policy", "What a full replay buffer lets go: reservoir (uniform over the run) or diverse (the pair most like another kept one) (default reservoir)", (c, v) => c with { Sampler = c.Sampler with { ReplayPolicy = v } });
        Setting<int>(command, settings, "--replay-size", "Pairs the replay reservoir keeps (default 1024)", (c, v) => c with { Sampler = c.Sampler with { ReplaySize = v } });
        Setting<int>(command, settings, "--width", "Encoder width multiplier: 1 = 32-64-128-256 channels, 2 = twice as wide (default 1)", (c, v) => c with { Trainer = c.Trainer with { Model = c.Trainer.Model with { Width = v } } });
        Text(command, settings, "--loss", "graded (InfoNCE with soft targets falling with the time gap, see --time-scale), infonce (symmetric, masked) or triplet (TCN-style) (default graded)", (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { Kind = v } } });
        Setting<double>(command, settings, "--temperature", "InfoNCE temperature (default 0.1)", (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { Temperature = v } } });
        Setting<double>(command, settings, "--order-weight", "Weight of the time-order term: among anchors of one source, nearer in time should be more similar (default 0: off)", (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { OrderWeight = v } } });
        Setting<double>(command, settings, "--time-scale", "Seconds over which the graded loss's targets fall by a factor e (default 3)", (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { TimeScale = v } } });
        Setting<double>(command, settings, "--video-weight", "Target weight the graded loss gives every frame of the anchor's own video, whatever the time gap (default 0)", (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { VideoWeight = v } } });
        Setting<double>(command, settings, "--margin", "Triplet margin (default 0.2)", (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { Margin = v } } });
        Setting<double>(command, settings, "--lr", "AdamW learning rate (default 0.001)", (c, v) => c with { Trainer = c.Trainer with { Optimizer = c.Trainer.Optimizer with { LearningRate = v } } });
        Setting<double>(command, settings, "--weight-decay", "AdamW weight decay (default 0.01)", (c, v) => c with { Trainer = c.Trainer with { Optimizer = c.Trainer.Optimizer with { WeightDecay = v } } });
        Setting<int>(command, settings, "--checkpoint-every", "Steps between checkpoints; one is always written at the end (default 100)", (c, v) => c with { Trainer = c.Trainer with { CheckpointEvery = v } });
        Setting<int>(command, settings, "--keep-checkpoints", "Most recent checkpoints kept (default 3)", (c, v) => c with { Trainer = c.Trainer with { KeepCheckpoints = v } });
        Setting<double>(command, settings, "--crop-min-scale", "Smallest random crop, as a share of the frame's area (default 0.7)", (c, v) => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { CropMinScale = v } } });
        Setting<double>(command, settings, "--color-jitter", "Brightness, contrast and saturation jitter strength (default 0: colour tells videos apart)", (c, v) => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { ColorJitter = v } } });
        Setting<double>(command, settings, "--flip-probability", "Chance of a horizontal flip per view (default 0: flips erase left/right motion)", (c, v) => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { FlipProbability = v } } });
        Setting<double>(command, settings, "--gray-probability", "Chance of a grayscale view (default 0)", (c, v) => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { GrayProbability = v } } });
        Flag(command, settings, "--no-augment", "Train on the frames as decoded, without crops, flips or colour jitter", c => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { Enabled = false } } });

        return settings;
    }

    /// <summary>The overlay's options.</summary>
    public static void AddView(Command command, List<Func<ParseResult, RunConfig, RunConfig>> settings)
    {
        Text(command, settings, "--view", "Show the live overlay: auto (a window where a display exists, else headless, else none), window, headless or none (default none)", (c, v) => c with { View = c.View with { View = v } });
        Setting<double>(command, settings, "--render-fps", "Overlay frames per second (default 30)", (c, v) => c with { View = c.View with { RenderFps = v } });
        Text(command, settings, "--display-size", "Size the frame is shown at, WIDTHxHEIGHT (default 640x360; 640x480 suits 4:3 cameras)", (c, v) => c with { View = c.View with { DisplaySize = v } });
        Text(command, settings, "--record", "Encode the overlay into this video (H.264 .mp4 through FFmpeg)", (c, v) => c with { View = c.View with { Record = v } });
        Setting<int>(command, settings, "--snapshot-every", "Write a PNG of every Nth overlay frame into --snapshot-dir", (c, v) => c with { View = c.View with { SnapshotEvery = v } });
        Text(command, settings, "--snapshot-dir", "Folder for --snapshot-every PNGs", (c, v) => c with { View = c.View with { SnapshotDir = v } });
        Setting<double>(command, settings, "--heatmap-opacity", "Heatmap opacity over the frame, 0 to 1 (default 0.55)", (c, v) => c with { View = c.View with { HeatmapOpacity = v } });
        Text(command, settings, "--shaders", "Folder of the overlay's shaders (default: the repository's shaders/)", (c, v) => c with { View = c.View with { Shaders = v } });
    }

    private static void Setting<T>(Command command, List<Func<ParseResult, RunConfig, RunConfig>> settings, string name, string description,
        Func<RunConfig, T, RunConfig> apply) where T : struct, IParsable<T>
    {
        var option = Cli.Numeric(new Option<T?>(name) { Description = description });
        command.Options.Add(option);
        settings.Add((parse, config) => parse.GetValue(option) is { } value ? apply(config, value) : config);
    }

    private static void Flag(Command command, List<Func<ParseResult, RunConfig, RunConfig>> settings, string name, string description,
        Func<RunConfig, RunConfig> apply)
    {
        var option = new Option<bool>(name) { Description = description };
        command.Options.Add(option);
        settings.Add((parse, config) => parse.GetValue(option) ? apply(config) : config);
    }

    private static void Text(Command command, List<Func<ParseResult, RunConfig, RunConfig>> settings, string name, string description,
        Func<RunConfig, string, RunConfig> apply)
    {
        var option = new Option<string?>(name) { Description = description };
        command.Options.Add(option);
        settings.Add((parse, config) => parse.GetValue(option) is { } value ? apply(config, value) : config);
    }
}
