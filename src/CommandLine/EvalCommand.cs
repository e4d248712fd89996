using System.CommandLine;
using System.Globalization;
using Microsoft.Extensions.Logging;
using VideoSsl.Evaluation;
using VideoSsl.Evaluation.Report;
using VideoSsl.Learning;

namespace VideoSsl.CommandLine;

/// <summary><c>videossl eval</c>: the temporal protocols on held-out video, for the learned encoder and three baselines.</summary>
public static class EvalCommand
{
    public static Command Create(Cli cli)
    {
        var command = new Command("eval", "Measure the learned features on (held-out) videos against raw pixels, the untrained encoder and ImageNet ResNet-18: near/far AUC, same-video retrieval, Kendall's tau, alignment and a linear probe. Writes report.json, report.md and plots to --out.");
        var checkpoint = new Option<string>("--checkpoint", "-c") { Description = "Run folder (its newest checkpoint) or a checkpoint file", Required = true };
        var sources = new Option<string[]>("--source", "-s") { Description = "Video files or folders to evaluate on (use videos the model did not train on)", AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out", "-o") { Description = "Report folder", Required = true };
        var fps = Cli.Numeric(new Option<double>("--fps") { Description = "Frames per second taken from each video", DefaultValueFactory = _ => 5 });
        var device = Cli.Choice(new Option<DeviceChoice>("--device") { Description = "auto (CUDA when LibTorch sees a GPU, else the CPU), cpu or cuda (default auto)", DefaultValueFactory = _ => DeviceChoice.Auto });
        var noResNet = new Option<bool>("--no-resnet") { Description = "Leave out the ResNet-18 baseline (the slowest part on a CPU)" };
        var align = new Option<string[]>("--align") { Description = "Two videos of the same scene: how well frames of one find their moment in the other", Arity = new ArgumentArity(2, 2), AllowMultipleArgumentsPerToken = true };
        var labels = new Option<string?>("--labels") { Description = "Folder with one sub-folder of videos per class: adds a linear probe (its videos replace --source)" };
        var seed = Cli.Numeric(new Option<long>("--seed") { Description = "Seed of the random-weights baseline", DefaultValueFactory = _ => 1234 });
        var inStream = new Option<string[]>("--in-stream") { Description = "The run's recent training input (RUN_DIR/recent, from train --keep-recent): the same metrics there too, in-stream against out-of-stream (--source)", AllowMultipleArgumentsPerToken = true };
        var pooled = Cli.PooledStagesOption();
        foreach (var option in new Option[] { checkpoint, sources, output, fps, device, noResNet, align, labels, seed, inStream, pooled }) command.Options.Add(option);

        command.SetAction(parse => cli.Guard(parse, "eval", () =>
        {
            using var logging = cli.Logging(parse);
            var request = new EvalRequest(parse.GetValue(checkpoint)!, parse.GetValue(sources) ?? [], parse.GetValue(output)!,
                parse.GetValue(fps), parse.GetValue(device)!, !parse.GetValue(noResNet), parse.GetValue(align), parse.GetValue(labels), parse.GetValue(seed),
                Cli.PooledStages(parse, pooled));
            var report = new EvaluationRun(logging).Run(request, cli.Termination.Token);
            Print(report);
            Cli.Print($"report: {Path.Combine(request.Out, "report.md")} (and report.json, {report.Files.Count - 2} plots)");
            if (parse.GetValue(inStream) is { Length: > 0 } recent)
            {
                string inFolder = Path.Combine(request.Out, "in-stream");
                var inReport = new EvaluationRun(logging).Run(request with { Sources = recent, Out = inFolder, Align = null, Labels = null }, cli.Termination.Token);
                Cli.Print("in-stream (the recent training input):");
                Print(inReport);
                StreamComparison.Write(request.Out, inReport, report);
                Cli.Print($"in-stream report: {Path.Combine(inFolder, "report.md")}; comparison: {Path.Combine(request.Out, "in-vs-out.md")}");
            }
            return 0;
        }));
        return command;
    }

    private static void Print(EvalReport report)
    {
        var text = CultureInfo.InvariantCulture;
        Cli.Print($"{"",-13} {"AUC pooled",10} {"AUC bal.",10} {"top-1",8} {"mAP",8} {"tau",8}");
        foreach (var r in report.Results)
            Cli.Print(string.Create(text, $"{r.Name,-13} {r.NearFar.Pooled,10:0.000} {r.NearFar.Balanced,10:0.000} {r.Retrieval.Top1,8:0.000} {r.Retrieval.MeanAveragePrecision,8:0.000} {r.TimeOrder.MeanTau,8:0.000}"));
    }
}
