using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using VideoSsl.Evaluation;
using VideoSsl.Engine;
using VideoSsl.Messages.Overlay;
using VideoSsl.Graph;
using VideoSsl.Learning;
using VideoSsl.Rendering.Overlay;

namespace VideoSsl.CommandLine;

/// <summary><c>videossl train</c>: learn from video files and folders, leaving checkpoints and metrics in RUN_DIR.</summary>
public static class TrainCommand
{
    public static Command Create(Cli cli)
    {
        var command = new Command("train", "Train the encoder on video files or folders (recursive); writes checkpoints, metrics.jsonl, config.json and summary.json to --out.");

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

        var settings = RunOptions.Add(command, new RunConfig(), RunOptions.Run, RunOptions.View);

        command.SetAction(parse => cli.Guard(parse, "train", () =>
        {
            using var logging = cli.Logging(parse);
            var log = logging.CreateLogger("videossl");
            bool resuming = parse.GetValue(resume);
            string? outDir = parse.GetValue(output);
            string? file = parse.GetValue(configFile);

            // A configuration file is input (its problems exit 1); what the command line adds is checked apart (exit 2).
            RunConfig config = file is not null ? RunConfig.FromFile(file).Validated() : new RunConfig();
            Checkpoint? checkpoint = null;
            string runDir = outDir ?? config.Out;
            if (string.IsNullOrEmpty(runDir)) throw UserError.CommandLine(resuming ? "--resume needs --out RUN_DIR" : "no output folder: pass --out RUN_DIR");
            if (!resuming) config = WithCommandLine(parse, config);
            if (resuming)
            {
                var latest = new CheckpointStore(runDir, int.MaxValue).LoadLatest(message => log.LogWarning("{Message}", message))
                    ?? throw new UserError($"out '{runDir}': no checkpoint to resume from");
                checkpoint = latest.Checkpoint;
                if (file is null) config = RunConfig.FromJson(checkpoint.RunConfigJson, latest.Path, written: true).Validated() with { Out = runDir };
                log.LogInformation("resume: {Path} at step {Step}", latest.Path, checkpoint.Info.Step);
                config = WithCommandLine(parse, config);
            }

            config = DisplaySizing.Resolve(config);
            var world = cli.World;
            var graph = new TrainingGraph(logging) { MonitorFactory = (c, tails, token) => HeldOutMonitor.For(c, tails, logging, token) };
            // Under MPI rank 0 alone shows (or records) the overlay and reports; the other ranks only train.
            using var view = world.IsRoot ? OverlayView.Open(config.View, $"VideoSsl: {config.Out}", Path.Combine(config.Out, "screenshots"), logging.CreateLogger("view")) : null;
            var summary = world.IsRoot
                ? ProgressDisplay.Run(cli.Console, log, "train", observer => graph.Run(config, checkpoint, parse.GetValue(overwrite), observer, cli.Termination.Token, view, world))
                : graph.Run(config, checkpoint, parse.GetValue(overwrite), null, cli.Termination.Token, null, world);
            if (!world.IsRoot) return 0;
            view?.Complete();
            PrintSummary(summary);
            if (view is not null) PrintOverlay(view.Report);
            return 0;
        }, acrossRanks: true));
        return command;

        RunConfig WithCommandLine(ParseResult parse, RunConfig config)
        {
            if (parse.GetValue(output) is { } outDir) config = config with { Out = outDir };
            if (parse.GetValue(sources) is { Length: > 0 } given) config = config with { Sources = given };
            foreach (var apply in settings) config = apply(parse, config);
            if (config.Sources.Count == 0) throw UserError.CommandLine("no source given: pass --source FILE_OR_FOLDER");
            return config.Validated(fromCommandLine: true);
        }
    }

    public static void PrintOverlay(OverlayReport r)
    {
        Cli.Print($"overlay:    {r.FramesRendered} frames rendered ({Choice<ViewMode>.Name(r.View)}, {r.Renderer})" +
            (r.Record is null ? "" : $"; {r.FramesRecorded} recorded to {r.Record}") + (r.Screenshots > 0 ? $"; {r.Screenshots} screenshots" : ""));
    }

    private static void PrintSummary(TrainingSummary s)
    {
        var text = CultureInfo.InvariantCulture;
        Cli.Print(string.Create(text, $"Trained {s.StepsThisRun} steps ({s.Steps} in all) on {s.Device}{(s.WorldSize > 1 ? $" x {s.WorldSize} MPI ranks" : "")} in {s.Seconds:0.0} s; stopped because {s.StopReason}."));
        if (s.FirstLossNorm is { } first && s.LastLossNorm is { } last)
            Cli.Print(string.Create(text, $"loss_norm (1.0 = chance): first steps {first:0.000} -> last steps {last:0.000}"));
        long dropped = s.Stages.Sum(stage => stage.Dropped);
        if (dropped > 0 || s.Reconnects > 0)
            Cli.Print($"live:       {dropped} frames dropped (the learner fell behind the source), {s.Reconnects} reconnects");
        foreach (var skipped in s.Skipped) Cli.Print($"skipped:    {skipped.Reason}");
        foreach (var partial in s.Sources.Where(r => r.Partial || r.Error is not null))
            Cli.Print($"partial:    {partial.Path} ({partial.Frames} of {partial.ExpectedFrames} frames{(partial.Error is null ? "" : ", " + partial.Error)})");
        Cli.Print($"checkpoint: {s.Checkpoint ?? "(none written)"}");
        Cli.Print($"metrics:    {s.Metrics}");
        Cli.Print($"config:     {Path.Combine(s.RunDirectory, RunDirectory.ConfigFile)}");
        Cli.Print($"summary:    {Path.Combine(s.RunDirectory, RunDirectory.SummaryFile)}");
    }
}
