using System.Globalization;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using VideoSsl.Graph;

namespace VideoSsl.CommandLine;

/// <summary>
/// Shows a run's progress: on a terminal, a live Spectre.Console progress bar with the frame counter, step, loss and
/// per-stage rates; elsewhere (CI, pipes, files), one log line every few seconds.
/// </summary>
public static class ProgressDisplay
{
    public static T Run<T>(IAnsiConsole console, ILogger log, string title, Func<IRunObserver, T> work)
    {
        if (!console.Profile.Capabilities.Interactive || Console.IsErrorRedirected)
            return work(new LogLines(log));
        T result = default!;
        console.Progress()
            .AutoClear(false)
            .HideCompleted(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
            .Start(context =>
            {
                var task = context.AddTask(Markup.Escape(title), maxValue: 1);
                result = work(new Bar(task, title));
                task.StopTask();
            });
        return result;
    }

    /// <summary>One line: frames, step, loss and what each stage is doing.</summary>
    public static string Describe(RunProgress p)
    {
        var parts = new List<string>
        {
            p.ExpectedFrames > 0
                ? $"frames {p.FramesSeen.ToString("N0", CultureInfo.InvariantCulture)}/{p.ExpectedFrames.ToString("N0", CultureInfo.InvariantCulture)}"
                : $"frames {p.FramesSeen.ToString("N0", CultureInfo.InvariantCulture)}",
        };
        if (p.Step > 0 || p.MaxSteps is not null) parts.Add(p.MaxSteps is { } max ? $"step {p.Step}/{max}" : $"step {p.Step}");
        if (p.LastStep is { } s)
            parts.Add(FormattableString.Invariant($"loss {s.Loss:0.000} (norm {s.LossNorm:0.00}) acc {s.PairAccuracy:0.00} pairs {s.Pairs}"));
        if (p.TrainFramesPerSecond > 0) parts.Add(FormattableString.Invariant($"train {p.TrainFramesPerSecond:0} frames/s"));
        foreach (var stage in p.Stages)
            parts.Add(FormattableString.Invariant($"{stage.Stage} {stage.BusyFraction * 100:0}% q{stage.QueueDepth}") + (stage.Dropped > 0 ? $" dropped {stage.Dropped}" : ""));
        if (p.Reconnects > 0) parts.Add($"reconnects {p.Reconnects}");
        if (p.CurrentSource is { } source) parts.Add(source);
        return string.Join(" | ", parts);
    }

    private static double Fraction(RunProgress p)
    {
        double byFrames = p.ExpectedFrames > 0 ? (double)p.FramesSeen / p.ExpectedFrames : 0;
        double bySteps = p.MaxSteps is { } max && max > 0 ? (double)p.Step / max : 0;
        double byTime = p.MaxSeconds is { } seconds && seconds > 0 ? p.ElapsedSeconds / seconds : 0;
        return Math.Clamp(Math.Max(Math.Max(byFrames, bySteps), byTime), 0, 1);
    }

    private sealed class Bar(ProgressTask task, string title) : IRunObserver
    {
        public void OnProgress(RunProgress progress)
        {
            task.Value = Fraction(progress);
            task.Description = Markup.Escape(VideoSsl.Engine.Printable.Text($"{title}: {Describe(progress)}"));
        }
    }

    private sealed class LogLines(ILogger log) : IRunObserver
    {
        private double _lastReport = double.NegativeInfinity;

        public void OnProgress(RunProgress progress)
        {
            if (progress.ElapsedSeconds - _lastReport < 5) return;
            _lastReport = progress.ElapsedSeconds;
            log.LogInformation("{Percent,3:0}% {Line}", Fraction(progress) * 100, Describe(progress));
        }
    }
}
