using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using ScottPlot;
using VideoSsl.Evaluation.Metrics;
using VideoSsl.Graph;

namespace VideoSsl.Evaluation.Report;

/// <summary>
/// Writes the evaluation report: report.json (every number), report.md (tables: learned against the baselines,
/// per metric and per video) and PNG plots made with ScottPlot (self-similarity matrices, a PCA projection coloured
/// by time and by video, and the training loss curve).
/// </summary>
public sealed class ReportWriter(string folder)
{
    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.KebabCaseLower,
        WriteIndented = true,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    /// <summary>A video's name in a markdown table cell: control characters escaped, and a '|' would end the cell.</summary>
    private static string Cell(string name) => VideoSsl.Engine.Printable.Text(name).Replace("|", "\\|", StringComparison.Ordinal);

    /// <returns>The files written, relative to the report folder.</returns>
    public IReadOnlyList<string> Write(EvalReport report, IReadOnlyDictionary<string, FrameSet> sets, string? runDirectory)
    {
        Directory.CreateDirectory(folder);
        var files = new List<string>();
        foreach (var (name, set) in sets.Where(s => s.Key is "learned" or "raw-pixels"))
            for (int v = 0; v < set.VideoNames.Count; v++)
                files.Add(SimilarityMatrix(set, v, name));
        files.Add(Projection(sets["learned"], byTime: true));
        files.Add(Projection(sets["learned"], byTime: false));
        if (runDirectory is not null && LossCurve(runDirectory) is { } loss) files.Add(loss);
        report = report with { Files = files };
        File.WriteAllText(Path.Combine(folder, "report.json"), JsonSerializer.Serialize(report, Json));
        File.WriteAllText(Path.Combine(folder, "report.md"), Markdown(report));
        return ["report.json", "report.md", .. files];
    }

    public static string Markdown(EvalReport report)
    {
        var text = new StringBuilder();
        string F(double? value, string format = "0.000") => value is { } v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "–";
        var results = report.Results;
        text.AppendLine("# Evaluation");
        text.AppendLine();
        text.AppendLine($"Checkpoint `{report.Checkpoint}` (step {report.Step}), {report.Videos.Count} video(s) decoded at {F(report.Fps, "0.##")} frames/s; near pairs are at most {F(report.PosWindow, "0.##")} s apart and far pairs at least {F(report.NegGap, "0.##")} s, as in training.");
        text.AppendLine();
        text.AppendLine("| metric | " + string.Join(" | ", results.Select(r => r.Name)) + " |");
        text.AppendLine("|---|" + string.Concat(results.Select(_ => "---:|")));
        void Row(string metric, Func<FeaturizerResult, double?> value, bool higherIsBetter = true)
        {
            var values = results.Select(value).ToList();
            var finite = values.Where(v => v is { } x && double.IsFinite(x)).Select(v => v!.Value).ToList();
            double? best = finite.Count == 0 ? null : higherIsBetter ? finite.Max() : finite.Min();
            text.AppendLine($"| {metric} | " + string.Join(" | ", values.Select(v => v == best && best is not null ? $"**{F(v)}**" : F(v))) + " |");
        }
        Row("near/far AUC, pooled", r => r.NearFar.Pooled);
        Row("near/far AUC, balanced (each video equal)", r => r.NearFar.Balanced);
        Row("same-video retrieval, top-1", r => r.Retrieval.Top1);
        Row("same-video retrieval, mAP", r => r.Retrieval.MeanAveragePrecision);
        Row("Kendall's tau, distance vs time gap", r => r.TimeOrder.MeanTau);
        if (results.Any(r => r.AlignmentError is not null)) Row("alignment error (share of length)", r => r.AlignmentError, higherIsBetter: false);
        if (results.Any(r => r.Probe is not null)) Row("linear probe accuracy", r => r.Probe?.Accuracy);
        text.AppendLine();
        text.AppendLine("Best value in each row in bold. AUC 0.5 and tau 0 are chance; retrieval needs two or more videos.");
        text.AppendLine();
        text.AppendLine("## Per video");
        text.AppendLine();
        // Retrieval per video only where there is retrieval (two or more videos).
        bool retrieval = results.Any(r => r.Retrieval.PerVideo.Count > 0);
        var metrics = new List<(string Label, Func<FeaturizerResult, IReadOnlyDictionary<string, double>> Values)>
        {
            ("AUC", r => r.NearFar.PerVideo),
            ("tau", r => r.TimeOrder.PerVideo),
        };
        if (retrieval) metrics.Add(("mAP", r => r.Retrieval.PerVideo));
        text.AppendLine("| video | frames | seconds | " + string.Join(" | ", metrics.SelectMany(m => results.Select(r => $"{m.Label} {r.Name}"))) + " |");
        text.AppendLine("|---|---:|---:|" + string.Concat(metrics.SelectMany(_ => results.Select(_ => "---:|"))));
        foreach (var video in report.Videos)
            text.AppendLine($"| {Cell(video.Name)} | {video.Frames} | {F(video.Seconds, "0.#")} | "
                + string.Join(" | ", metrics.SelectMany(m => results.Select(r => F(m.Values(r).GetValueOrDefault(video.Name, double.NaN))))) + " |");
        if (retrieval)
        {
            text.AppendLine();
            text.AppendLine("mAP per video: same-video retrieval over the queries taken from that video.");
        }
        text.AppendLine();
        text.AppendLine("## Baselines");
        text.AppendLine();
        foreach (var r in results) text.AppendLine($"- **{r.Name}** ({r.Dimension}-d): {r.Description}");
        if (report.Files.Count > 0)
        {
            text.AppendLine();
            text.AppendLine("## Plots");
            text.AppendLine();
            foreach (string file in report.Files) text.AppendLine($"![{Path.GetFileNameWithoutExtension(file)}]({file})");
        }
        return text.ToString();
    }

    private string SimilarityMatrix(FrameSet set, int video, string featurizer)
    {
        var (_, start, end) = set.Ranges().First(r => r.Video == video);
        int step = Math.Max(1, (end - start + 299) / 300);
        var rows = Enumerable.Range(0, (end - start + step - 1) / step).Select(k => start + k * step).ToArray();
        var matrix = new double[rows.Length, rows.Length];
        for (int i = 0; i < rows.Length; i++)
        for (int j = 0; j < rows.Length; j++)
            matrix[i, j] = set.Similarity(rows[i], rows[j]);
        var plot = new Plot();
        var heatmap = plot.Add.Heatmap(matrix);
        heatmap.Colormap = new ScottPlot.Colormaps.Viridis();
        heatmap.FlipVertically = true;
        heatmap.Extent = new CoordinateRect(0, set.Times[end - 1] - set.Times[start], 0, set.Times[end - 1] - set.Times[start]);
        plot.Add.ColorBar(heatmap);
        plot.Title($"{set.VideoNames[video]}: cosine similarity between frames ({featurizer})");
        plot.XLabel("time (s)");
        plot.YLabel("time (s)");
        string file = $"similarity-{Slug(set.VideoNames[video])}-{featurizer}.png";
        plot.SavePng(Path.Combine(folder, file), 720, 640);
        return file;
    }

    private string Projection(FrameSet set, bool byTime)
    {
        var (x, y) = Pca.TwoComponents(set);
        var plot = new Plot();
        var colormap = new ScottPlot.Colormaps.Viridis();
        if (byTime)
        {
            // Colour by position within each video, in 20 bands so ScottPlot draws 20 series instead of one per point.
            var ranges = set.Ranges();
            var position = new double[set.Count];
            foreach (var (_, start, end) in ranges)
                for (int i = start; i < end; i++) position[i] = end - start > 1 ? (double)(i - start) / (end - start - 1) : 0;
            for (int band = 0; band < 20; band++)
            {
                var members = Enumerable.Range(0, set.Count).Where(i => Math.Min(19, (int)(position[i] * 20)) == band).ToArray();
                if (members.Length == 0) continue;
                plot.Add.Markers(members.Select(i => x[i]).ToArray(), members.Select(i => y[i]).ToArray(), MarkerShape.FilledCircle, 5, colormap.GetColor(band / 19.0));
            }
            plot.Title("learned embeddings, PCA: colour = time within the video (dark = start)");
        }
        else
        {
            var palette = new ScottPlot.Palettes.Category10();
            foreach (var (video, start, end) in set.Ranges())
            {
                var markers = plot.Add.Markers(x[start..end], y[start..end], MarkerShape.FilledCircle, 5, palette.GetColor(video));
                markers.LegendText = set.VideoNames[video];
            }
            plot.ShowLegend();
            plot.Title("learned embeddings, PCA: colour = video");
        }
        plot.XLabel("first principal component");
        plot.YLabel("second principal component");
        string file = byTime ? "pca-by-time.png" : "pca-by-video.png";
        plot.SavePng(Path.Combine(folder, file), 720, 600);
        return file;
    }

    private string? LossCurve(string runDirectory)
    {
        var steps = new List<double>();
        var norms = new List<double>();
        foreach (string record in File.ReadLines(Path.Combine(runDirectory, RunDirectory.MetricsFile)))
        {
            using var doc = JsonDocument.Parse(record);
            if (doc.RootElement.TryGetProperty("loss_norm", out var norm) && norm.ValueKind == JsonValueKind.Number)
            {
                steps.Add(doc.RootElement.GetProperty("step").GetDouble());
                norms.Add(norm.GetDouble());
            }
        }
        if (steps.Count < 2) return null;
        var smoothed = new double[norms.Count];
        double ema = norms[0];
        for (int i = 0; i < norms.Count; i++) smoothed[i] = ema = 0.95 * ema + 0.05 * norms[i];
        var plot = new Plot();
        var raw = plot.Add.ScatterPoints(steps.ToArray(), norms.ToArray(), Colors.Gray.WithAlpha(0.35));
        raw.MarkerSize = 2;
        raw.LegendText = "loss_norm per step";
        var line = plot.Add.ScatterLine(steps.ToArray(), smoothed, Colors.Blue);
        line.LineWidth = 2;
        line.LegendText = "smoothed";
        plot.Add.HorizontalLine(1, 1, Colors.Red).LegendText = "chance";
        plot.ShowLegend();
        plot.Title("training: loss divided by its chance level");
        plot.XLabel("step");
        plot.YLabel("loss_norm");
        plot.SavePng(Path.Combine(folder, "loss.png"), 800, 450);
        return "loss.png";
    }

    /// <summary>A video's report name as a file-name part: "franck.mp4" to "franck", "grid/0.mp4" to "grid-0".</summary>
    private static string Slug(string name)
    {
        string stem = Regex.Replace(name, @"\.[A-Za-z0-9]{1,5}(?=( \(\d+\))?$)", "");
        string dashed = new(stem.Select(c => char.IsLetterOrDigit(c) ? c : '-').ToArray());
        return Regex.Replace(dashed, "-+", "-").Trim('-');
    }
}
