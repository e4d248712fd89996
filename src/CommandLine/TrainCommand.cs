using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using VideoSsl.Engine;
using VideoSsl.Graph;
using VideoSsl.Learning;

namespace VideoSsl.CommandLine;

/// <summary><c>videossl train</c>: learn from video files and folders, leaving checkpoints and metrics in RUN_DIR.</summary>
public static class TrainCommand
{
    public static Command Create(Cli cli)
    {
        var command = new Command("train", "Train the encoder on video files or folders (recursive); writes checkpoints, metrics.jsonl, config.json and summary.json to --out.");
        var settings = new List<Func<ParseResult, RunConfig, RunConfig>>();

        var sources = new Option<string[]>("--source", "-s")
        {
            Description = "Video file or folder (recursive), webcam[:DEVICE], a stream URL (rtsp, rtmp, srt, udp, rtp, http(s), HLS) or testsrc[:NAME]; repeat for several. With --resume, defaults to the checkpoint's.",
            AllowMultipleArgumentsPerToken = true,
        };
        var output = new Option<string?>("--out", "-o") { Description = "Run folder for checkpoints and metrics (RUN_DIR)" };
        var configFile = new Option<string?>("--config") { Description = "JSON configuration file (keys as in RUN_DIR/config.json); options on the command line win" };
        var resume = new Option<bool>("--resume") { Description = "Continue the run in --out from its newest checkpoint: weights, optimizer, step, random state and data position" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Start over in an --out folder that already holds a run" };
        command.Options.Add(sources);
        command.Options.Add(output);
        command.Options.Add(configFile);
        command.Options.Add(resume);
        command.Options.Add(overwrite);

        Setting<int>("--epochs", "Passes over the file sources (default 1)", (c, v) => c with { Limits = c.Limits with { Epochs = v } });
        Setting<long>("--max-steps", "Stop after N optimizer steps in total", (c, v) => c with { Limits = c.Limits with { MaxSteps = v } });
        Setting<long>("--max-frames", "Stop after N decoded frames in total", (c, v) => c with { Limits = c.Limits with { MaxFrames = v } });
        Setting<double>("--max-seconds", "Stop after S seconds of wall time", (c, v) => c with { Limits = c.Limits with { MaxSeconds = v } });
        Text("--device", "auto (CUDA when present), cpu or cuda (default auto)", (c, v) => c with { Device = v });
        Setting<long>("--seed", "Random seed: same seed, same data and same weights on the CPU (default 1234)", (c, v) => c with { Seed = v });
        Setting<int>("--threads", "LibTorch threads (default: one per core)", (c, v) => c with { Trainer = c.Trainer with { Threads = v } });
        Setting<int>("--size", "Frame size in pixels, square (default 96)", (c, v) => c with { Decode = c.Decode with { Size = v } });
        Setting<double>("--fps", "Resample every source to F frames/s (default: each source's own rate)", (c, v) => c with { Decode = c.Decode with { Fps = v } });
        Flag("--realtime", "Read files at their own frame rate, as if live (frames the learner cannot take are dropped)", c => c with { Decode = c.Decode with { Realtime = true } });
        Text("--camera-size", "Capture size asked of a webcam, WIDTHxHEIGHT (default 640x480)", (c, v) => c with { Decode = c.Decode with { CameraSize = v } });
        Setting<double>("--camera-fps", "Capture rate asked of a webcam (default 30)", (c, v) => c with { Decode = c.Decode with { CameraFps = v } });
        Setting<double>("--read-timeout", "Seconds of silence after which a network stream counts as dropped (default 5)", (c, v) => c with { Decode = c.Decode with { ReadTimeoutSeconds = v } });
        Setting<double>("--reconnect-max", "Longest wait between attempts to reopen a dropped live source (default 30 s)", (c, v) => c with { Decode = c.Decode with { ReconnectMaxSeconds = v } });
        Setting<int>("--parallel-sources", "Sources decoded at once, mixed in every batch (default 2)", (c, v) => c with { Decode = c.Decode with { ParallelSources = v } });
        Setting<int>("--batch", "Anchor/positive pairs per step; a step trains on twice as many frames (default 32)", (c, v) => c with { Sampler = c.Sampler with { Batch = v } });
        Setting<double>("--pos-window", "Seconds within which a frame is a positive for its anchor (default 0.5)", (c, v) => c with { Sampler = c.Sampler with { PosWindow = v } });
        Setting<double>("--neg-gap", "Seconds apart that anchors of one source must stand; closer pairs are masked (default 2)", (c, v) => c with { Sampler = c.Sampler with { NegGap = v } });
        Setting<double>("--samples-per-frame", "Anchors drawn per newly decoded frame of a file (default 4)", (c, v) => c with { Sampler = c.Sampler with { SamplesPerFrame = v } });
        Setting<double>("--ring-seconds", "Seconds of recent frames buffered per source (default: batch x (neg-gap + pos-window))", (c, v) => c with { Sampler = c.Sampler with { RingSeconds = v } });
        Setting<int>("--min-anchors", "Smallest batch trained on while buffers fill (default batch/4, at least 2)", (c, v) => c with { Sampler = c.Sampler with { MinAnchors = v } });
        Setting<int>("--buffer-mb", "Memory for buffered frames (default 1024)", (c, v) => c with { Sampler = c.Sampler with { BufferMegabytes = v } });
        Setting<double>("--replay", "Share of each batch's anchors replayed from a reservoir of older pairs, against forgetting on streams (default 0)", (c, v) => c with { Sampler = c.Sampler with { Replay = v } });
        Setting<int>("--replay-size", "Pairs the replay reservoir keeps (default 1024)", (c, v) => c with { Sampler = c.Sampler with { ReplaySize = v } });
        Setting<int>("--width", "Encoder width multiplier: 1 = 32-64-128-256 channels, 2 = twice as wide (default 1)", (c, v) => c with { Trainer = c.Trainer with { Model = c.Trainer.Model with { Width = v } } });
        Text("--loss", "infonce (symmetric, masked) or triplet (TCN-style) (default infonce)", (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { Kind = v } } });
        Setting<double>("--temperature", "InfoNCE temperature (default 0.1)", (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { Temperature = v } } });
        Setting<double>("--margin", "Triplet margin (default 0.2)", (c, v) => c with { Trainer = c.Trainer with { Loss = c.Trainer.Loss with { Margin = v } } });
        Setting<double>("--lr", "AdamW learning rate (default 0.001)", (c, v) => c with { Trainer = c.Trainer with { Optimizer = c.Trainer.Optimizer with { LearningRate = v } } });
        Setting<double>("--weight-decay", "AdamW weight decay (default 0.01)", (c, v) => c with { Trainer = c.Trainer with { Optimizer = c.Trainer.Optimizer with { WeightDecay = v } } });
        Setting<int>("--checkpoint-every", "Steps between checkpoints; one is always written at the end (default 100)", (c, v) => c with { Trainer = c.Trainer with { CheckpointEvery = v } });
        Setting<int>("--keep-checkpoints", "Most recent checkpoints kept (default 3)", (c, v) => c with { Trainer = c.Trainer with { KeepCheckpoints = v } });
        Setting<double>("--crop-min-scale", "Smallest random crop, as a share of the frame's area (default 0.7)", (c, v) => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { CropMinScale = v } } });
        Setting<double>("--color-jitter", "Brightness, contrast and saturation jitter strength (default 0.2)", (c, v) => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { ColorJitter = v } } });
        Setting<double>("--flip-probability", "Chance of a horizontal flip per view (default 0: flips erase left/right motion)", (c, v) => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { FlipProbability = v } } });
        Setting<double>("--gray-probability", "Chance of a grayscale view (default 0)", (c, v) => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { GrayProbability = v } } });
        Flag("--no-augment", "Train on the frames as decoded, without crops, flips or colour jitter", c => c with { Trainer = c.Trainer with { Augment = c.Trainer.Augment with { Enabled = false } } });

        command.SetAction(parse => cli.Guard(parse, "train", () =>
        {
            using var logging = cli.Logging(parse);
            var log = logging.CreateLogger("videossl");
            bool resuming = parse.GetValue(resume);
            string? outDir = parse.GetValue(output);
            string? file = parse.GetValue(configFile);

            RunConfig config = file is not null ? RunConfig.FromFile(file) : new RunConfig();
            Checkpoint? checkpoint = null;
            if (resuming)
            {
                string runDir = outDir ?? config.Out;
                if (string.IsNullOrEmpty(runDir)) throw new UserError("--resume needs --out RUN_DIR");
                var latest = new CheckpointStore(runDir, int.MaxValue).LoadLatest(message => log.LogWarning("{Message}", message))
                    ?? throw new UserError($"out '{runDir}': no checkpoint to resume from");
                checkpoint = latest.Checkpoint;
                if (file is null) config = RunConfig.FromJson(checkpoint.RunConfigJson, latest.Path) with { Out = runDir };
                log.LogInformation("resume: {Path} at step {Step}", latest.Path, checkpoint.Info.Step);
            }
            if (outDir is not null) config = config with { Out = outDir };
            if (parse.GetValue(sources) is { Length: > 0 } given) config = config with { Sources = given };
            foreach (var apply in settings) config = apply(parse, config);
            if (config.Sources.Count == 0) throw new UserError("no source given: pass --source FILE_OR_FOLDER");
            if (string.IsNullOrEmpty(config.Out)) throw new UserError("no output folder: pass --out RUN_DIR");

            var graph = new TrainingGraph(logging);
            var summary = ProgressDisplay.Run(cli.Console, log, "train",
                observer => graph.Run(config, checkpoint, parse.GetValue(overwrite), observer, cli.Termination.Token));
            PrintSummary(summary);
            return 0;
        }));
        return command;

        void Setting<T>(string name, string description, Func<RunConfig, T, RunConfig> apply) where T : struct
        {
            var option = new Option<T?>(name) { Description = description };
            command.Options.Add(option);
            settings.Add((parse, config) => parse.GetValue(option) is { } value ? apply(config, value) : config);
        }

        void Flag(string name, string description, Func<RunConfig, RunConfig> apply)
        {
            var option = new Option<bool>(name) { Description = description };
            command.Options.Add(option);
            settings.Add((parse, config) => parse.GetValue(option) ? apply(config) : config);
        }

        void Text(string name, string description, Func<RunConfig, string, RunConfig> apply)
        {
            var option = new Option<string?>(name) { Description = description };
            command.Options.Add(option);
            settings.Add((parse, config) => parse.GetValue(option) is { } value ? apply(config, value) : config);
        }
    }

    private static void PrintSummary(TrainingSummary s)
    {
        var text = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(text, $"Trained {s.StepsThisRun} steps ({s.Steps} in all) on {s.Device} in {s.Seconds:0.0} s; stopped because {s.StopReason}."));
        if (s.FirstLossNorm is { } first && s.LastLossNorm is { } last)
            Console.WriteLine(string.Create(text, $"loss_norm (1.0 = chance): first steps {first:0.000} -> last steps {last:0.000}"));
        long dropped = s.Stages.Sum(stage => stage.Dropped);
        if (dropped > 0 || s.Reconnects > 0)
            Console.WriteLine($"live:       {dropped} frames dropped (the learner fell behind the source), {s.Reconnects} reconnects");
        foreach (var skipped in s.Skipped) Console.WriteLine($"skipped:    {skipped.Reason}");
        foreach (var partial in s.Sources.Where(r => r.Partial || r.Error is not null))
            Console.WriteLine($"partial:    {partial.Path} ({partial.Frames} of {partial.ExpectedFrames} frames{(partial.Error is null ? "" : ", " + partial.Error)})");
        Console.WriteLine($"checkpoint: {s.Checkpoint ?? "(none written)"}");
        Console.WriteLine($"metrics:    {s.Metrics}");
        Console.WriteLine($"config:     {Path.Combine(s.RunDirectory, RunDirectory.ConfigFile)}");
        Console.WriteLine($"summary:    {Path.Combine(s.RunDirectory, RunDirectory.SummaryFile)}");
    }
}
