using System.Globalization;
using System.Text;
using System.Text.Json;

namespace VideoSsl.Evaluation.Report;

/// <summary>One featurizer on the recent training input (in-stream) and on held-out video (out-of-stream).</summary>
public sealed record StreamRow(string Name, double InAuc, double OutAuc, double InTau, double OutTau, double InTop1, double OutTop1);

/// <summary>
/// In-stream against out-of-stream: the same metrics on what an online run has just been learning from and on
/// videos it never saw, side by side, so adaptation (in-stream gains) and generalisation (out-of-stream gains)
/// are told apart.
/// </summary>
public static class StreamComparison
{
    public static IReadOnlyList<StreamRow> Rows(EvalReport inStream, EvalReport outOfStream) =>
        inStream.Results.Join(outOfStream.Results, r => r.Name, r => r.Name, (i, o) => new StreamRow(o.Name,
            i.NearFar.Balanced, o.NearFar.Balanced, i.TimeOrder.MeanTau, o.TimeOrder.MeanTau, i.Retrieval.Top1, o.Retrieval.Top1)).ToList();

    /// <summary>Writes in-vs-out.md and in-vs-out.json into <paramref name="folder"/>; returns the markdown.</summary>
    public static string Write(string folder, EvalReport inStream, EvalReport outOfStream)
    {
        var rows = Rows(inStream, outOfStream);
        var text = CultureInfo.InvariantCulture;
        var md = new StringBuilder();
        md.AppendLine(string.Create(text, $"# In-stream vs out-of-stream (checkpoint step {outOfStream.Step})"));
        md.AppendLine();
        md.AppendLine($"In-stream: {inStream.Videos.Count} recent-input video(s) ({inStream.Videos.Sum(v => v.Seconds):0} s); out-of-stream: {outOfStream.Videos.Count} held-out video(s) ({outOfStream.Videos.Sum(v => v.Seconds):0} s).");
        md.AppendLine();
        md.AppendLine("| features | AUC in | AUC out | tau in | tau out | top-1 in | top-1 out |");
        md.AppendLine("|---|---|---|---|---|---|---|");
        foreach (var r in rows)
            md.AppendLine(string.Create(text, $"| {r.Name} | {r.InAuc:0.000} | {r.OutAuc:0.000} | {r.InTau:0.000} | {r.OutTau:0.000} | {r.InTop1:0.000} | {r.OutTop1:0.000} |"));
        md.AppendLine();
        md.AppendLine("AUC: near/far discrimination, balanced over videos; tau: Kendall's tau of distance against time gap; top-1: same-video retrieval.");
        File.WriteAllText(Path.Combine(folder, "in-vs-out.md"), md.ToString());
        File.WriteAllText(Path.Combine(folder, "in-vs-out.json"), JsonSerializer.Serialize(rows, new JsonSerializerOptions
        {
            WriteIndented = true,
            PropertyNamingPolicy = JsonNamingPolicy.KebabCaseLower,
            NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
        }));
        return md.ToString();
    }
}
