using System.Text;
using System.Text.Json;
using VideoSsl.Learning;
using VideoSsl.Tests.Support;
using static TorchSharp.torch;

namespace VideoSsl.Tests.Integration;

[Trait("Category", "Integration")]
public class EvalCommandTests(ClipSet clips) : IClassFixture<ClipSet>, IDisposable
{
    private readonly TempFolder _work = new("eval");

    private string Trained()
    {
        var result = VideoSslProcess.Run(_work.Path, "train", "--backbone", "small", "--source", clips.Pair, "--out", _work["run"], "--max-steps", "30",
            "--device", "cpu", "--size", "48", "--batch", "8", "--neg-gap", "1");
        Assert.True(result.ExitCode == 0, result.ToString());
        return _work["run"];
    }

    [Fact]
    public void Eval_scores_the_learned_encoder_and_every_baseline_and_writes_the_report_and_plots()
    {
        string run = Trained();
        string heldOut = _work["held-out"];
        Directory.CreateDirectory(heldOut);
        Clips.Make(Path.Combine(heldOut, "life.mp4"), "life", 10);
        Clips.Make(Path.Combine(heldOut, "testsrc-late.mp4"), "testsrc2=size=192x144:rate=25,trim=start=40,setpts=PTS-STARTPTS", 10);
        File.Copy(Path.Combine(heldOut, "life.mp4"), _work["life-copy.mp4"]);

        var result = VideoSslProcess.Run(_work.Path, "eval", "--checkpoint", run, "--source", heldOut, "--out", _work["report"],
            "--fps", "2", "--device", "cpu", "--align", Path.Combine(heldOut, "life.mp4"), _work["life-copy.mp4"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        using var report = JsonDocument.Parse(File.ReadAllText(_work["report/report.json"]));
        var results = report.RootElement.GetProperty("results").EnumerateArray().ToList();
        Assert.Equal(["learned", "learned-head", "random-init", "raw-pixels", "resnet18"], results.Select(r => r.GetProperty("name").GetString()));
        foreach (var r in results)
        {
            Assert.InRange(r.GetProperty("near-far").GetProperty("pooled").GetDouble(), 0, 1);
            Assert.InRange(r.GetProperty("retrieval").GetProperty("top1").GetDouble(), 0, 1);
            Assert.InRange(r.GetProperty("time-order").GetProperty("mean-tau").GetDouble(), -1, 1);
            // the same video twice: every frame finds its own moment
            Assert.InRange(r.GetProperty("alignment-error").GetDouble(), 0, 0.05);
        }
        Assert.Equal(3, report.RootElement.GetProperty("videos").GetArrayLength());
        string markdown = File.ReadAllText(_work["report/report.md"]);
        Assert.Contains("| metric | learned | learned-head | random-init | raw-pixels | resnet18 |", markdown);
        foreach (string plot in new[] { "pca-by-time.png", "pca-by-video.png", "loss.png", "similarity-life-learned.png" })
        {
            byte[] png = File.ReadAllBytes(Path.Combine(_work["report"], plot));
            Assert.True(png.Length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G', $"{plot} is not a PNG");
        }
    }

    [Fact]
    public void A_linear_probe_runs_on_labelled_folders()
    {
        string run = Trained();
        string labels = _work["labels"];
        foreach (var (label, scene) in new[] { ("grid", "testsrc"), ("fractal", "mandelbrot") })
        {
            Directory.CreateDirectory(Path.Combine(labels, label));
            for (int i = 0; i < 2; i++) Clips.Make(Path.Combine(labels, label, $"{i}.mp4"), scene, 5 + i);
        }
        var result = VideoSslProcess.Run(_work.Path, "eval", "--checkpoint", run, "--labels", labels, "--out", _work["report"],
            "--fps", "2", "--device", "cpu", "--no-resnet");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var report = JsonDocument.Parse(File.ReadAllText(_work["report/report.json"]));
        var probe = report.RootElement.GetProperty("results").EnumerateArray()
            .ToDictionary(r => r.GetProperty("name").GetString()!, r => r.GetProperty("probe"));
        Assert.All(probe.Values, p => Assert.InRange(p.GetProperty("accuracy").GetDouble(), 0, 1));
        Assert.True(probe["raw-pixels"].GetProperty("accuracy").GetDouble() >= 0.9);   // a grid and a fractal differ at a glance
        // Both folders hold 0.mp4 and 1.mp4: each of the four keeps its own per-video numbers and its own plot.
        var names = report.RootElement.GetProperty("videos").EnumerateArray().Select(v => v.GetProperty("name").GetString()).ToList();
        Assert.Equal(["fractal/0.mp4", "fractal/1.mp4", "grid/0.mp4", "grid/1.mp4"], names.Order());
        Assert.True(File.Exists(_work["report/similarity-grid-0-learned.png"]) && File.Exists(_work["report/similarity-fractal-0-learned.png"]));
        Assert.Contains("linear probe accuracy", File.ReadAllText(_work["report/report.md"]));
    }

    [Fact]
    public void Exported_weights_load_back_bit_for_bit_in_both_formats()
    {
        string run = Trained();
        var (checkpoint, _) = CheckpointStore.Open(run);
        using var reference = TrainingSession.LoadForInference(checkpoint, CPU);
        var expected = reference.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.bytes.ToArray());
        foreach (string file in new[] { "encoder.safetensors", "encoder.pt" })
        {
            var result = VideoSslProcess.Run(_work.Path, "export", "--checkpoint", run, "--out", _work[file]);
            Assert.True(result.ExitCode == 0, result.ToString());
            using var imported = ModelExport.Import(_work[file], checkpoint.Info.Model);
            var actual = imported.state_dict();
            Assert.Equal(expected.Keys.Order(), actual.Keys.Order());
            foreach (var (name, weights) in expected) Assert.True(weights.AsSpan().SequenceEqual(actual[name].bytes), $"{file}: {name} differs");
            using var description = JsonDocument.Parse(File.ReadAllText(Path.ChangeExtension(_work[file], ".json")));
            Assert.Equal(48, description.RootElement.GetProperty("frame_size").GetInt32());
        }
        // safetensors: an 8-byte header length, then a JSON header naming every tensor, as PyTorch's loader expects.
        byte[] bytes = File.ReadAllBytes(_work["encoder.safetensors"]);
        long headerLength = BitConverter.ToInt64(bytes, 0);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength));
        Assert.True(header.RootElement.TryGetProperty("backbone.conv0.weight", out var conv));
        Assert.Equal("F32", conv.GetProperty("dtype").GetString());
    }

    public void Dispose() => _work.Dispose();
}
