using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using VideoSsl.Evaluation;
using VideoSsl.Decode;
using VideoSsl.Decode.Sources;
using VideoSsl.Engine;
using VideoSsl.Messages.Overlay;
using VideoSsl.Graph;
using VideoSsl.Rendering.Overlay;

namespace VideoSsl.CommandLine;

/// <summary>
/// <c>videossl demo [SOURCE]</c>: train on a source with the live overlay (a window where a display exists), files
/// playing at their own rate and looping; or, with <c>--checkpoint RUN_DIR --no-train</c>, show a trained model's
/// heatmaps on any source without changing it.
/// </summary>
public static class DemoCommand
{
    /// <summary>Where demo starts from: train's defaults, but files loop (1000 passes) at their own rate, with the overlay on.</summary>
    private static readonly RunConfig Defaults = new()
    {
        Out = "runs/demo",
        Limits = new RunLimits { Epochs = 1000 },
        Decode = new RunConfig().Decode with { Realtime = true },
        View = new ViewSettings { View = ViewMode.Auto },
    };

    public static Command Create(Cli cli)
    {
        var command = new Command("demo", "Train with the live overlay (heatmaps, self-similarity, loss, HUD): a window where a display exists, else headless. Files play at their own rate and loop. Keys: space pause, H heatmap mode, R reset, S screenshot, Q quit; click sets the query point.");
        var sources = new Argument<string[]>("SOURCE")
        {
            Description = "Video file or folder, webcam[:DEVICE], stream URL or testsrc[:NAME] (default: the quick start's clips in media/default, else testsrc2)",
            Arity = ArgumentArity.ZeroOrMore,
        };
        var output = new Option<string?>("--out", "-o") { Description = $"Run folder (default {Defaults.Out}, replaced each time)" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Start over in an --out folder that already holds a run" };
        var checkpointOption = new Option<string?>("--checkpoint") { Description = "With --no-train: the run folder or .ckpt whose model is shown" };
        var noTrain = new Option<bool>("--no-train") { Description = "Show the --checkpoint model's heatmaps without training it" };
        var fast = new Option<bool>("--fast") { Description = "Read files as fast as training takes them instead of at their own rate" };
        command.Arguments.Add(sources);
        command.Options.Add(output);
        command.Options.Add(overwrite);
        command.Options.Add(checkpointOption);
        command.Options.Add(noTrain);
        command.Options.Add(fast);
        var settings = RunOptions.Add(command, Defaults, RunOptions.Run, RunOptions.View);

        command.SetAction(parse => cli.Guard(parse, "demo", () =>
        {
            using var logging = cli.Logging(parse);
            var log = logging.CreateLogger("videossl");
            string? outDir = parse.GetValue(output);
            var config = Defaults with
            {
                Out = outDir ?? Defaults.Out,
                Sources = parse.GetValue(sources) is { Length: > 0 } given ? given : DefaultSources(log),
                Decode = Defaults.Decode with { Realtime = !parse.GetValue(fast) },
            };
            foreach (var apply in settings) config = apply(parse, config);
            config = DisplaySizing.Resolve(config.Validated(fromCommandLine: true));
            if (config.View.View == ViewMode.None) throw UserError.CommandLine("demo shows the overlay: use --view auto, window or headless (or 'train' to train without it)");
            string? checkpoint = parse.GetValue(checkpointOption);
            bool viewOnly = parse.GetValue(noTrain);
            if (viewOnly && checkpoint is null) throw UserError.CommandLine("--no-train shows a trained model: pass --checkpoint RUN_DIR");
            if (!viewOnly && checkpoint is not null)
                throw UserError.CommandLine("--checkpoint is for --no-train; to train a run further with the overlay, use 'train --out RUN_DIR --resume --view auto'");

            using var view = OverlayView.Open(config.View, "VideoSsl demo", Path.Combine(config.Out, "screenshots"), logging.CreateLogger("view"))
                ?? throw new UserError("demo needs a renderer, and none could start (see the warning above)");
            if (view.Report.View == ViewMode.Headless && config.View.Record is null && config.View.SnapshotEvery is null)
                log.LogWarning("demo: no window (no display), so the overlay is drawn but not shown; add --record demo.mp4 or --snapshot-every N --snapshot-dir DIR, or set DISPLAY");
            if (viewOnly)
            {
                var seen = new ViewingGraph(logging).Run(config, checkpoint!, view, cli.Termination.Token);
                view.Complete();
                Cli.Print(string.Create(CultureInfo.InvariantCulture,
                    $"Showed {seen.Checkpoint} (step {seen.Step}) on {seen.FramesShown} frames ({seen.Probes} probed) in {seen.Seconds:0.0} s; stopped because {seen.StopReason}."));
            }
            else
            {
                bool replace = parse.GetValue(overwrite) || outDir is null;
                var summary = ProgressDisplay.Run(cli.Console, log, "demo",
                    observer => new TrainingGraph(logging) { MonitorFactory = (c, tails, token) => HeldOutMonitor.For(c, tails, logging, token) }.Run(config, null, replace, observer, cli.Termination.Token, view));
                view.Complete();
                Cli.Print(string.Create(CultureInfo.InvariantCulture,
                    $"Trained {summary.Steps} steps in {summary.Seconds:0.0} s; stopped because {summary.StopReason}. Run folder: {summary.RunDirectory}"));
            }
            TrainCommand.PrintOverlay(view.Report);
            return 0;
        }));
        return command;
    }

    /// <summary>The quick start's clips when they have been fetched (scripts/fetch-media), else FFmpeg's test pattern.</summary>
    private static string[] DefaultSources(ILogger log)
    {
        if (Checkout.Root is { } root && Path.Combine(root, "media", "default") is var media && Directory.Exists(media)
            && Directory.EnumerateFiles(media).Any(f => FolderSource.VideoExtensions.Contains(Path.GetExtension(f))))
            return [media];
        log.LogInformation("demo: no clips in media/default (run scripts/fetch-media for real footage); showing FFmpeg's testsrc2 pattern");
        return ["testsrc:testsrc2"];
    }
}
