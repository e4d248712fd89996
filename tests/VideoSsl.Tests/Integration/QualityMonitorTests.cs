using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using VideoSsl.Decode;
using VideoSsl.Graph;
using VideoSsl.Learning;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Integration;

/// <summary>The online quality monitor (train --eval-source, --holdout-tail): its numbers, where they go, and what they choose.</summary>
[Trait("Category", "Integration")]
public class QualityMonitorTests(ClipSet clips) : IClassFixture<ClipSet>, IDisposable
{
    private readonly TempFolder _work = new("monitor");

    private string HeldOut()
    {
        string folder = _work["held-out"];
        Directory.CreateDirectory(folder);
        Clips.Make(Path.Combine(folder, "life.mp4"), "life", 8);
        Clips.Make(Path.Combine(folder, "testsrc-late.mp4"), "testsrc2=size=192x144:rate=25,trim=start=40,setpts=PTS-STARTPTS", 8);
        return folder;
    }

    [Fact]
    public void The_monitors_numbers_equal_evals_on_the_checkpoint_of_the_same_step_and_choose_best_ckpt()
    {
        string heldOut = HeldOut();
        var trained = VideoSslProcess.Run(_work.Path, "train", "--backbone", "small", "--source", clips.Pair, "--out", _work["run"], "--max-steps", "6",
            "--device", "cpu", "--size", "32", "--batch", "6", "--neg-gap", "1", "--eval-source", heldOut, "--eval-every", "3",
            "--checkpoint-every", "3", "--keep-checkpoints", "5");
        Assert.True(trained.ExitCode == 0, trained.ToString());
        Assert.Contains("held-out at step 3", trained.Stderr);

        var lines = File.ReadLines(_work["run/metrics.jsonl"]).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        var measured = lines.Where(l => l.TryGetProperty("heldout", out _)).ToList();
        Assert.Equal([3L, 6L], measured.Select(l => l.GetProperty("step").GetInt64()));
        Assert.All(lines.Where(l => l.GetProperty("step").GetInt64() % 3 != 0), l => Assert.False(l.TryGetProperty("heldout", out _)));

        foreach (var line in measured)
        {
            long step = line.GetProperty("step").GetInt64();
            var heldout = line.GetProperty("heldout");
            string report = _work[$"eval-{step}"];
            var evaluated = VideoSslProcess.Run(_work.Path, "eval", "--checkpoint", _work[$"run/checkpoints/step-{step:D8}.ckpt"], "--source", heldOut,
                "--out", report, "--device", "cpu", "--no-resnet");
            Assert.True(evaluated.ExitCode == 0, evaluated.ToString());
            using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(report, "report.json")));
            var learned = json.RootElement.GetProperty("results").EnumerateArray().First(r => r.GetProperty("name").GetString() == "learned");
            Assert.Equal(learned.GetProperty("near-far").GetProperty("balanced").GetDouble(), heldout.GetProperty("auc").GetDouble(), 9);
            Assert.Equal(learned.GetProperty("time-order").GetProperty("mean-tau").GetDouble(), heldout.GetProperty("tau").GetDouble(), 9);
            Assert.Equal(learned.GetProperty("retrieval").GetProperty("mean-average-precision").GetDouble(), heldout.GetProperty("map").GetDouble(), 9);
        }

        // best.ckpt is the measured step with the highest AUC, scored 1 - AUC.
        var best = measured.OrderByDescending(l => l.GetProperty("heldout").GetProperty("auc").GetDouble()).First();
        var bestCheckpoint = Checkpoint.Read(_work["run/checkpoints/best.ckpt"]);
        Assert.Equal(best.GetProperty("step").GetInt64(), bestCheckpoint.Info.Step);
        Assert.Equal(1 - best.GetProperty("heldout").GetProperty("auc").GetDouble(), bestCheckpoint.Info.Score!.Value, 9);
    }

    [Fact]
    public void A_clip_too_short_for_far_pairs_or_a_missing_one_is_refused_before_training()
    {
        string folder = _work["short"];
        Directory.CreateDirectory(folder);
        Clips.Make(Path.Combine(folder, "short.mp4"), "testsrc", 1.5);
        var result = VideoSslProcess.Run(_work.Path, "train", "--backbone", "small", "--source", clips.Pair, "--out", _work["run-short"], "--max-steps", "2",
            "--device", "cpu", "--size", "32", "--eval-source", folder);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("eval-source", result.Stderr);
        Assert.Contains("neg-gap", result.Stderr);
        Assert.False(File.Exists(_work["run-short/checkpoints/step-00000002.ckpt"]));

        result = VideoSslProcess.Run(_work.Path, "train", "--backbone", "small", "--source", clips.Pair, "--out", _work["run-missing"], "--max-steps", "2",
            "--device", "cpu", "--size", "32", "--eval-source", _work["nothing-here.mp4"]);
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("nothing-here.mp4", result.Stderr);
    }

    private static List<byte[]> DecodedFrames(PreparedSources sources)
    {
        var settings = new DecodeSettings { Size = 32 };
        return DecodedPixels.Of(sources.WorkItems(1, settings).Files, settings);
    }

    [Fact]
    public void A_holdout_tail_splits_a_file_into_a_head_to_train_on_and_a_tail_for_the_monitor_frame_for_frame()
    {
        var whole = SourcePreparation.Prepare([clips.Mandelbrot], realtime: false, NullLogger.Instance, CancellationToken.None);
        var (heads, tails) = whole.SplitTail(0.25);

        var all = DecodedFrames(whole);
        var head = DecodedFrames(heads);
        var tail = DecodedFrames(tails);
        Assert.Equal(500, all.Count);
        Assert.Equal(375, head.Count);
        Assert.Equal(125, tail.Count);
        // The head is the file's beginning and the tail its end, with no frame in both and none lost between them.
        Assert.Equal(all, [.. head, .. tail]);
        Assert.Equal(15, heads.Files[0].Info.Duration.TotalSeconds, 3);
        Assert.Equal(5, tails.Files[0].Info.Duration.TotalSeconds, 3);
    }

    [Fact]
    public void Train_with_a_holdout_tail_trains_on_the_heads_and_measures_the_tails()
    {
        var trained = VideoSslProcess.Run(_work.Path, "train", "--backbone", "small", "--source", clips.Pair, "--out", _work["tail-run"], "--epochs", "1",
            "--max-steps", "4", "--device", "cpu", "--size", "32", "--batch", "6", "--neg-gap", "1", "--holdout-tail", "0.2", "--eval-every", "2",
            "--checkpoint-every", "2", "--keep-checkpoints", "5");
        Assert.True(trained.ExitCode == 0, trained.ToString());
        // 20 s clips: the last 4 s of each at the monitor's 5 frames/s.
        Assert.Contains("monitor: 40 frames of 2 held-out tail(s) (0.2 of each training file)", trained.Stderr);
        var measured = File.ReadLines(_work["tail-run/metrics.jsonl"]).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => l.TryGetProperty("heldout", out _)).ToList();
        Assert.Equal([2L, 4L], measured.Select(l => l.GetProperty("step").GetInt64()));
        Assert.True(File.Exists(_work["tail-run/checkpoints/best.ckpt"]));
        using var config = JsonDocument.Parse(File.ReadAllText(_work["tail-run/config.json"]));
        Assert.Equal(0.2, config.RootElement.GetProperty("monitor").GetProperty("holdout-tail").GetDouble());
    }

    [Fact]
    public void A_holdout_tail_is_refused_beside_eval_source_and_on_live_sources_alone()
    {
        var both = VideoSslProcess.Run(_work.Path, "train", "--backbone", "small", "--source", clips.Pair, "--out", _work["both"], "--max-steps", "2",
            "--device", "cpu", "--size", "32", "--holdout-tail", "0.2", "--eval-source", clips.TestSrc);
        Assert.Equal(2, both.ExitCode);   // an invalid configuration
        Assert.Contains("holdout-tail and eval-source", both.Stderr);

        var live = VideoSslProcess.Run(_work.Path, "train", "--backbone", "small", "--source", "testsrc", "--out", _work["live"], "--max-steps", "2",
            "--device", "cpu", "--size", "32", "--holdout-tail", "0.2");
        Assert.Equal(1, live.ExitCode);
        Assert.Contains("holdout-tail: the sources hold no video files", live.Stderr);
        Assert.False(File.Exists(_work["live/checkpoints/step-00000002.ckpt"]));
    }

    public void Dispose() => _work.Dispose();
}
