using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Spectre.Console;
using VideoSsl.Bench;
using VideoSsl.Learning;
using VideoSsl.Rendering.Overlay;

namespace VideoSsl.CommandLine;

/// <summary><c>videossl bench</c>: every stage against its ceiling, in one run.</summary>
public static class BenchCommand
{
    public static Command Create(Cli cli)
    {
        var command = new Command("bench", "Measure decode (against bare ffmpeg), the train step (against the matmul rate), end to end (against their combined bound), the overlay's render rate (headless) and, with --twin, a PyTorch + PyAV twin of the pipeline; prints a table and writes JSON.");
        var size = Cli.Numeric(new Option<int>("--size") { Description = "Frame size in pixels", DefaultValueFactory = _ => 96 });
        var batch = Cli.Numeric(new Option<int>("--batch") { Description = "Anchor/positive pairs per step", DefaultValueFactory = _ => 32 });
        var device = Cli.Choice(new Option<DeviceChoice>("--device") { Description = "auto, cpu or cuda (default cpu)", DefaultValueFactory = _ => DeviceChoice.Cpu });
        var steps = Cli.Numeric(new Option<int>("--steps") { Description = "Timed training steps", DefaultValueFactory = _ => 20 });
        var json = new Option<string?>("--json") { Description = "Also write every number to this JSON file" };
        var twin = new Option<bool>("--twin") { Description = "Also run the PyTorch + PyAV twin (needs python3-torch and python3-av)" };
        var trainOnly = new Option<bool>("--train-only") { Description = "Only the train step (no FFmpeg needed: for a GPU machine with PyTorch alone)" };
        foreach (var option in new Option[] { size, batch, device, steps, json, twin, trainOnly }) command.Options.Add(option);
        command.SetAction(parse => cli.Guard(parse, "bench", () =>
        {
            using var logging = cli.Logging(parse);
            var options = new BenchOptions(parse.GetValue(size), parse.GetValue(batch), parse.GetValue(device)!, parse.GetValue(steps), parse.GetValue(twin), parse.GetValue(trainOnly));
            var report = new BenchRun(logging).Run(options, cli.Termination.Token);
            Print(report);
            if (parse.GetValue(json) is { } path)
            {
                File.WriteAllText(path, JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals }));
                Cli.Print($"json: {path}");
            }
            return 0;
        }));
        return command;
    }

    private static void Print(BenchReport r)
    {
        string F(double v, string format = "0.0") => double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "–";
        var table = new Table().Border(TableBorder.Simple).AddColumns("section", "measured", "ceiling", "ratio");
        if (r.Decode is { } decode)
            table.AddRow("decode", $"{F(decode.FramesPerSecond, "0")} frames/s, {F(decode.CpuMillisecondsPerFrame, "0.00")} CPU-ms/frame",
                $"bare ffmpeg: {F(decode.BareCpuMillisecondsPerFrame, "0.00")} CPU-ms/frame", $"{F(decode.CpuRatio, "0.00")}x the CPU");
        else table.AddRow("decode", "not measured (--train-only: needs FFmpeg)", "", "");
        table.AddRow("train step", $"{F(r.Train.FramesPerSecond, "0")} frames/s, {F(r.Train.GflopPerSecond)} GFLOP/s ({r.Train.Size} px, {r.Train.Batch} pairs, {r.Train.Threads} threads)",
            $"matmul: {F(r.Train.MatmulGflopPerSecond)} GFLOP/s", $"{F(r.Train.PercentOfMatmul, "0")} % of it");
        if (r.Backbone is { } backbone)
        {
            var step = backbone.Step;
            table.AddRow("resnet18 step", $"{F(step.FramesPerSecond, "0")} frames/s, {F(step.GflopPerSecond)} GFLOP/s ({step.Size} px, {step.Batch} pairs, first {backbone.FrozenStages} stages frozen)",
                $"matmul: {F(step.MatmulGflopPerSecond)} GFLOP/s", $"{F(step.PercentOfMatmul, "0")} % of it");
            table.AddRow("resnet18 twin", backbone.TwinSkipped is { } why ? Markup.Escape(why) : $"VideoSsl {F(step.StepSeconds * 1000, "0")} ms a step",
                backbone.TwinSkipped is null ? $"PyTorch: {F(backbone.TwinStepSeconds * 1000, "0")} ms" : "", backbone.TwinSkipped is null ? $"{F(backbone.TwinRatio, "0.00")}x faster" : "");
        }
        if (r.Allreduce is { } allreduce)
            table.AddRow("allreduce", allreduce.Skipped is { } why ? Markup.Escape(why)
                    : $"{F(allreduce.AllreduceSeconds * 1000, "0")} ms a step for {F(allreduce.GradientBytes / 1e6, "0.0")} MB of gradients (2 ranks, loopback)",
                allreduce.Skipped is null ? $"the step: {F(allreduce.StepSeconds * 1000, "0")} ms" : "", allreduce.Skipped is null ? $"{F(100 * allreduce.Share, "0")} % of it" : "");
        if (r.ManyFiles is { } many)
        {
            table.AddRow("many files", $"embed over {many.Files} clips of 3 s: {F(many.FolderSeconds)} s ({F(many.SecondsPerFile * 1000, "0")} ms more a file)",
                $"the same {many.Frames} frames in one file: {F(many.OneFileSeconds)} s", $"{F(many.Ratio, "0.00")}x its time");
            var train = many.Training;
            table.AddRow("", $"train over them: {F(train.FolderSeconds)} s, {train.FolderSteps} steps",
                $"one file: {F(train.OneFileSeconds)} s, {train.OneFileSteps} steps", $"{F(train.Ratio, "0.00")}x its time, {F(train.StepRatio, "0.00")}x a step's");
        }
        if (r.EndToEnd is { } endToEnd)
            table.AddRow("end to end", $"{F(endToEnd.FramesPerSecond, "0")} training frames/s",
                $"bound: {F(endToEnd.BoundFramesPerSecond, "0")} frames/s", $"{F(endToEnd.PercentOfBound, "0")} % of it");
        else table.AddRow("end to end", "not measured (--train-only: needs FFmpeg)", "", "");
        if (r.Render.Skipped is { } skipped) table.AddRow("render", Markup.Escape(skipped), "", "");
        else table.AddRow("render", $"{F(r.Render.FramesPerSecond, "0")} overlay frames/s, {F(r.Render.MillisecondsPerFrame, "0.0")} ms/frame",
            Markup.Escape($"headless {r.Render.Width}x{r.Render.Height} (640x360 frame), {r.Render.Renderer.Split(" (")[0]}, read back"),
            $"{F(r.Render.FramesPerSecond / 100, "0.00")}x the 100 frames/s goal");
        if (r.Twin is { } twin)
            table.AddRow("python twin", twin.Skipped is { } why ? Markup.Escape(why) : $"VideoSsl {F(twin.VideoSslSeconds)} s for {twin.Steps} steps",
                twin.Skipped is null ? $"PyTorch + PyAV: {F(twin.TwinSeconds)} s" : "", twin.Skipped is null ? $"{F(twin.Speedup, "0.00")}x faster" : "");
        AnsiConsole.Console.Profile.Width = Math.Max(AnsiConsole.Console.Profile.Width, 160);
        AnsiConsole.Write(table);
        Cli.Print($"machine: {r.Machine}; peak memory {F(r.PeakMegabytes, "0")} MB");
    }
}
