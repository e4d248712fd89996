using System.Text.Json;
using VideoSsl.Learning;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Integration;

/// <summary>The real program, started as a process on synthetic clips, as in the README.</summary>
[Trait("Category", "Integration")]
public class TrainCommandTests(ClipSet clips) : IClassFixture<ClipSet>
{
    /// <summary>Small and quick settings that still learn: 64 px frames, 16 pairs, 1 s between anchors.</summary>
    private static readonly string[] Quick = ["train", "--backbone", "small", "--device", "cpu", "--size", "64", "--batch", "16", "--neg-gap", "1", "--seed", "5"];

    internal static List<JsonElement> Metrics(string runDirectory) =>
        File.ReadAllLines(Path.Combine(runDirectory, "metrics.jsonl")).Select(l => JsonDocument.Parse(l).RootElement).ToList();

    [Fact]
    public void Training_fifty_steps_lowers_the_loss_and_leaves_a_checkpoint_and_metrics()
    {
        using var work = new TempFolder("train");
        var result = VideoSslProcess.Run(work.Path, [.. Quick, "--source", clips.Pair, "--out", work["run"], "--max-steps", "50"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        var metrics = Metrics(work["run"]);
        Assert.Equal(Enumerable.Range(1, 50), metrics.Select(m => m.GetProperty("step").GetInt32()));
        foreach (string field in new[] { "loss", "loss_norm", "pair_acc", "masked_fraction", "frames", "frames_per_s", "queue_frames", "queue_batches", "lr" })
            Assert.True(metrics[0].TryGetProperty(field, out _), $"metrics.jsonl has no {field}");
        var train = metrics[^1].GetProperty("stages").GetProperty("train");
        Assert.Equal(50, train.GetProperty("out").GetInt64());
        Assert.InRange(train.GetProperty("busy").GetDouble(), 0.01, 1.0);
        double first = metrics.Take(10).Average(m => m.GetProperty("loss_norm").GetDouble());
        double last = metrics.TakeLast(10).Average(m => m.GetProperty("loss_norm").GetDouble());
        Assert.True(last < first, $"loss_norm did not fall: first 10 average {first:0.000}, last 10 {last:0.000}");
        Assert.True(last < 1.0, $"loss_norm stayed at chance: {last:0.000}");

        var checkpoint = CheckpointStore.Open(work["run"]).Checkpoint;
        Assert.Equal(50, checkpoint.Info.Step);
        Assert.True(File.Exists(work["run/config.json"]));
        Assert.Contains("checkpoint:", result.Stdout);
        Assert.Empty(VideoSslProcess.LeftoverFfmpeg(clips.Root));
    }

    [Fact]
    public void A_folder_run_reads_every_file_in_it()
    {
        using var work = new TempFolder("folder");
        string folder = work["videos"];
        Directory.CreateDirectory(Path.Combine(folder, "nested"));
        Clips.Make(Path.Combine(folder, "a.mp4"), "testsrc", 6);
        Clips.Make(Path.Combine(folder, "nested", "b.mkv"), "mandelbrot", 6);
        Clips.Make(Path.Combine(folder, "c.mp4"), "life", 6);
        File.WriteAllText(Path.Combine(folder, "notes.txt"), "not a video, and not named like one");

        var result = VideoSslProcess.Run(work.Path, [.. Quick, "--source", folder, "--out", work["run"], "--parallel-sources", "2"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        using var summary = JsonDocument.Parse(File.ReadAllText(work["run/summary.json"]));
        var sources = summary.RootElement.GetProperty("sources").EnumerateArray().ToList();
        Assert.Equal(["a.mp4", "b.mkv", "c.mp4"], sources.Select(s => Path.GetFileName(s.GetProperty("path").GetString()!)).Order());
        Assert.All(sources, s => Assert.Equal(s.GetProperty("expected-frames").GetInt64(), s.GetProperty("frames").GetInt64()));
        Assert.Equal(450, summary.RootElement.GetProperty("frames-seen").GetInt64());
    }

    [Theory]
    [InlineData("small", 64, 12)]
    [InlineData("resnet18", 64, 3)]
    public void A_resumed_run_continues_exactly_as_an_uninterrupted_one(string backbone, int size, int half)
    {
        using var work = new TempFolder("resume");
        string[] common = ["train", "--backbone", backbone, "--device", "cpu", "--size", $"{size}", "--batch", backbone == "small" ? "16" : "4",
            "--neg-gap", "1", "--seed", "5", "--source", clips.Pair];
        string full = $"{2 * half}";
        var straight = VideoSslProcess.Run(work.Path, [.. common, "--out", work["straight"], "--max-steps", full]);
        var firstHalf = VideoSslProcess.Run(work.Path, [.. common, "--out", work["split"], "--max-steps", $"{half}"]);
        var secondHalf = VideoSslProcess.Run(work.Path, "train", "--out", work["split"], "--resume", "--max-steps", full);
        Assert.True(straight.ExitCode == 0, straight.ToString());
        Assert.True(firstHalf.ExitCode == 0, firstHalf.ToString());
        Assert.True(secondHalf.ExitCode == 0, secondHalf.ToString());

        var a = CheckpointStore.Open(work["straight"]).Checkpoint;
        var b = CheckpointStore.Open(work["split"]).Checkpoint;
        Assert.Equal(backbone == "small" ? ModelKind.Small : ModelKind.ResNet18, b.Info.ModelKind);
        Assert.Equal(2 * half, b.Info.Step);
        Assert.True(a.Model.AsSpan().SequenceEqual(b.Model), "weights differ from the uninterrupted run");
        Assert.True(a.Optimizer.AsSpan().SequenceEqual(b.Optimizer), "optimizer state differs from the uninterrupted run");
        Assert.Equal(a.Info.FramesSeen, b.Info.FramesSeen);
        var lossesA = Metrics(work["straight"]).Select(m => m.GetProperty("loss").GetDouble());
        var lossesB = Metrics(work["split"]).Select(m => m.GetProperty("loss").GetDouble());
        Assert.Equal(lossesA, lossesB);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void A_run_resumed_in_the_middle_of_a_lanes_batch_of_short_files_continues_exactly(int lanes)
    {
        // Eight 2 s clips: with two lanes each owns a run of four that share one FFmpeg process; the first half stops
        // while the runs are part-read.
        using var work = new TempFolder("resume-runs");
        string folder = work["clips"];
        Directory.CreateDirectory(folder);
        for (int i = 0; i < 8; i++) Clips.Make(Path.Combine(folder, $"clip{i}.mp4"), i % 2 == 0 ? "testsrc" : "mandelbrot", 2);
        string[] common = [.. Quick, "--source", folder, "--parallel-sources", $"{lanes}", "--samples-per-frame", "1"];
        var straight = VideoSslProcess.Run(work.Path, [.. common, "--out", work["straight"], "--max-steps", "16"]);
        var firstHalf = VideoSslProcess.Run(work.Path, [.. common, "--out", work["split"], "--max-steps", "8"]);
        var secondHalf = VideoSslProcess.Run(work.Path, "train", "--out", work["split"], "--resume", "--max-steps", "16");
        Assert.True(straight.ExitCode == 0, straight.ToString());
        Assert.True(firstHalf.ExitCode == 0, firstHalf.ToString());
        Assert.True(secondHalf.ExitCode == 0, secondHalf.ToString());

        var a = CheckpointStore.Open(work["straight"]).Checkpoint;
        var b = CheckpointStore.Open(work["split"]).Checkpoint;
        Assert.Equal(16, b.Info.Step);
        Assert.True(a.Model.AsSpan().SequenceEqual(b.Model), "weights differ from the uninterrupted run");
        Assert.Equal(a.Info.FramesSeen, b.Info.FramesSeen);
        Assert.Equal(Metrics(work["straight"]).Select(m => m.GetProperty("loss").GetDouble()), Metrics(work["split"]).Select(m => m.GetProperty("loss").GetDouble()));
    }

    [Fact]
    public async Task Ctrl_c_finishes_the_step_writes_a_checkpoint_and_exits_cleanly()
    {
        using var work = new TempFolder("interrupt");
        using var process = VideoSslProcess.Start(work.Path, [.. Quick, "--source", clips.Pair, "--out", work["run"], "--epochs", "50"], interruptible: true);
        try
        {
            var stderr = process.StandardError.ReadToEndAsync();
            var stdout = process.StandardOutput.ReadToEndAsync();
            string metrics = work["run/metrics.jsonl"];
            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (!(File.Exists(metrics) && File.ReadAllLines(metrics).Length >= 5) && DateTime.UtcNow < deadline && !process.HasExited)
                Thread.Sleep(100);
            Assert.False(process.HasExited, "the run ended before it could be interrupted");

            VideoSslProcess.Signal(process, "INT");
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(20)), "no exit within 20 s of SIGINT");
            Assert.True(process.ExitCode == 0, $"exit {process.ExitCode}\n{await stderr}");
            Assert.Contains("interrupted", await stdout);
            var checkpoint = CheckpointStore.Open(work["run"]).Checkpoint;
            Assert.Equal(Metrics(work["run"]).Last().GetProperty("step").GetInt64(), checkpoint.Info.Step);
            Assert.Empty(VideoSslProcess.LeftoverFfmpeg(clips.Root));
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void Probe_prints_what_ffprobe_sees()
    {
        var result = VideoSslProcess.Run(clips.Root, "probe", clips.TestSrc);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("h264, 192x144, yuv420p", result.Stdout);
        Assert.Contains("decoded at 25", result.Stdout);
        Assert.Contains("about 500 at the decoded rate", result.Stdout);
    }

    [Fact]
    public void An_existing_run_is_not_overwritten_by_accident()
    {
        using var work = new TempFolder("exists");
        var first = VideoSslProcess.Run(work.Path, [.. Quick, "--source", clips.TestSrc, "--out", work["run"], "--max-steps", "3"]);
        Assert.True(first.ExitCode == 0, first.ToString());
        var again = VideoSslProcess.Run(work.Path, [.. Quick, "--source", clips.TestSrc, "--out", work["run"], "--max-steps", "3"]);
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("--resume", Assert.Single(again.StderrLines));
    }
}
