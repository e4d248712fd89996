using System.Diagnostics;
using System.Text.Json;
using VideoSsl.Learning;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Integration;

/// <summary>Live sources read by the real program: UDP streams that drop and come back, testsrc, HLS over HTTP.</summary>
[Trait("Category", "Integration")]
public class LiveSourceTests
{
    private static readonly string[] Small = ["--device", "cpu", "--size", "48", "--batch", "8", "--neg-gap", "1"];

    private static void WaitUntil(Func<bool> condition, TimeSpan limit, Process learner)
    {
        var deadline = DateTime.UtcNow + limit;
        while (!condition())
        {
            Assert.False(learner.HasExited, "the learner exited early");
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting");
            Thread.Sleep(200);
        }
    }

    private static List<JsonElement> MetricsSoFar(string run)
    {
        string path = Path.Combine(run, "metrics.jsonl");
        if (!File.Exists(path)) return [];
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(line => { try { return JsonDocument.Parse(line).RootElement; } catch (JsonException) { return default; } })
            .Where(e => e.ValueKind == JsonValueKind.Object).ToList();
    }

    [Fact]
    public async Task A_udp_stream_that_stops_and_restarts_twice_keeps_training_and_ctrl_c_leaves_a_checkpoint()
    {
        using var work = new TempFolder("udp");
        int port = LocalNetwork.FreeUdpPort();
        string url = $"udp://127.0.0.1:{port}";
        using var first = LocalNetwork.SendUdp(port, 5);
        Thread.Sleep(300);
        using var learner = VideoSslProcess.Start(work.Path,
            ["train", "--backbone", "small", "--source", url, "--out", work["run"], .. Small, "--read-timeout", "1.5", "--reconnect-max", "1", "--checkpoint-every", "25"],
            interruptible: true);
        try
        {
            var stderr = learner.StandardError.ReadToEndAsync();
            var stdout = learner.StandardOutput.ReadToEndAsync();
            for (int restart = 1; restart <= 2; restart++)
            {
                int reconnects = restart;
                WaitUntil(() => MetricsSoFar(work["run"]).LastOrDefault() is { ValueKind: JsonValueKind.Object } m
                    && m.GetProperty("reconnects").GetInt64() >= reconnects, TimeSpan.FromSeconds(40), learner);
                using var sender = LocalNetwork.SendUdp(port, 4);
                long framesBefore = MetricsSoFar(work["run"]).Last().GetProperty("frames").GetInt64();
                WaitUntil(() => MetricsSoFar(work["run"]).Last().GetProperty("frames").GetInt64() > framesBefore + 25, TimeSpan.FromSeconds(30), learner);
                sender.WaitForExit();
            }
            VideoSslProcess.Signal(learner, "INT");
            Assert.True(learner.WaitForExit(TimeSpan.FromSeconds(10)), "no exit within 10 s of SIGINT");
            Assert.True(learner.ExitCode == 0, $"exit {learner.ExitCode}\n{await stderr}");
            Assert.Contains("reconnects", await stdout);

            var metrics = MetricsSoFar(work["run"]);
            // Steps were trained on new frames after each reconnect: frames kept growing across every reconnect count.
            var framesByReconnects = metrics.GroupBy(m => m.GetProperty("reconnects").GetInt64())
                .ToDictionary(g => g.Key, g => (Min: g.Min(m => m.GetProperty("frames").GetInt64()), Max: g.Max(m => m.GetProperty("frames").GetInt64())));
            Assert.True(framesByReconnects.Keys.Count(k => k >= 1) >= 2, string.Join(", ", framesByReconnects.Keys));
            var checkpoint = CheckpointStore.Open(work["run"]).Checkpoint;
            Assert.Equal(metrics.Last(m => m.GetProperty("applied").GetBoolean()).GetProperty("step").GetInt64(), checkpoint.Info.Step);
            Assert.Empty(VideoSslProcess.LeftoverFfmpeg(url));
        }
        finally
        {
            if (!learner.HasExited) learner.Kill(entireProcessTree: true);
        }
    }

    [Fact]
    public void Testsrc_with_a_slow_trainer_drops_and_counts_frames_and_keeps_its_queues_bounded()
    {
        using var work = new TempFolder("testsrc");
        // A wide encoder on large frames is far slower than 30 frames/s on two cores; a short ring (just long enough for
        // the smallest batch, since a run that trains nothing fails) makes frames leave it unused.
        var result = VideoSslProcess.Run(work.Path, "train", "--backbone", "small", "--source", "testsrc", "--out", work["run"], "--device", "cpu",
            "--size", "192", "--width", "6", "--batch", "16", "--neg-gap", "0.4", "--pos-window", "0.2", "--ring-seconds", "2.5",
            "--max-seconds", "15");
        Assert.True(result.ExitCode == 0, result.ToString());
        using var summary = JsonDocument.Parse(File.ReadAllText(work["run/summary.json"]));
        var stages = summary.RootElement.GetProperty("stages").EnumerateArray().ToDictionary(s => s.GetProperty("stage").GetString()!);
        long decoded = stages["decode"].GetProperty("items-out").GetInt64();
        long dropped = stages["decode"].GetProperty("dropped").GetInt64() + stages["sample"].GetProperty("dropped").GetInt64();
        Assert.InRange(decoded, 200, 600);   // about 30 frames/s for 15 s: the source was never held back
        Assert.True(dropped > decoded / 4, $"{dropped} of {decoded} frames counted as dropped");
        Assert.Contains("frames dropped", result.Stdout);
        foreach (var line in TrainCommandTests.Metrics(work["run"]))
        {
            Assert.InRange(line.GetProperty("queue_frames").GetInt32(), 0, 64);
            Assert.InRange(line.GetProperty("queue_batches").GetInt32(), 0, 2);
        }
    }

    [Fact]
    public void An_hls_playlist_over_http_trains_but_one_pointing_at_local_files_is_refused()
    {
        using var work = new TempFolder("hls");
        string segment = Clips.Make(work["seg.ts"], "testsrc", 4, "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -f mpegts");
        const string head = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:4\n#EXT-X-MEDIA-SEQUENCE:0\n#EXTINF:4.0,\n";
        File.WriteAllText(work["good.m3u8"], head + "seg.ts\n#EXT-X-ENDLIST\n");
        File.WriteAllText(work["evil.m3u8"], head + $"file://{segment}\n#EXT-X-ENDLIST\n");
        using var server = new LocalNetwork.FileServer(work.Path);

        var good = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", server.Url("good.m3u8"), "--out", work["good"], .. Small, "--max-steps", "3"]);
        Assert.True(good.ExitCode == 0, good.ToString());

        var evil = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", server.Url("evil.m3u8"), "--out", work["evil"], .. Small, "--max-steps", "3"]);
        Assert.Equal(1, evil.ExitCode);
        string line = Assert.Single(evil.StderrLines, l => l.StartsWith("error:"));
        Assert.Contains("not on whitelist", line);
        Assert.DoesNotContain("seg.ts", server.Requests.Where(r => r.EndsWith(".ts")).Except(["seg.ts"]));
    }

    [Fact]
    public void Kill_9_leaves_a_loadable_checkpoint_no_ffmpeg_even_on_a_silent_stream_and_resume_works()
    {
        using var work = new TempFolder("kill9");
        int port = LocalNetwork.FreeUdpPort();
        string url = $"udp://127.0.0.1:{port}";
        using var sender = LocalNetwork.SendUdp(port, 6);
        Thread.Sleep(300);
        // A long read timeout: once the sender stops, FFmpeg sits blocked on the silent socket.
        using var learner = VideoSslProcess.Start(work.Path,
            ["train", "--backbone", "small", "--source", url, "--out", work["run"], .. Small, "--read-timeout", "600", "--checkpoint-every", "10"]);
        try
        {
            WaitUntil(() => MetricsSoFar(work["run"]).Count >= 25 && sender.HasExited, TimeSpan.FromSeconds(60), learner);
            Assert.NotEmpty(VideoSslProcess.LeftoverFfmpeg(url));   // FFmpeg is alive and blocked
            learner.Kill();   // SIGKILL: no handler runs
            learner.WaitForExit();
            var deadline = DateTime.UtcNow.AddSeconds(5);
            while (VideoSslProcess.LeftoverFfmpeg(url).Count > 0 && DateTime.UtcNow < deadline) Thread.Sleep(100);
            Assert.Empty(VideoSslProcess.LeftoverFfmpeg(url));
        }
        finally
        {
            if (!learner.HasExited) learner.Kill(entireProcessTree: true);
        }

        var (checkpoint, _) = CheckpointStore.Open(work["run"]);
        Assert.True(checkpoint.Info.Step >= 10);
        string clip = Clips.Make(work["more.mp4"], "testsrc", 10);
        var resumed = VideoSslProcess.Run(work.Path, "train", "--out", work["run"], "--resume", "--source", clip, "--max-steps", (checkpoint.Info.Step + 3).ToString());
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
        Assert.Equal(checkpoint.Info.Step + 3, CheckpointStore.Open(work["run"]).Checkpoint.Info.Step);
    }
}

/// <summary>--keep-recent and eval --in-stream: what an online run has just seen, measured beside held-out video.</summary>
[Trait("Category", "Integration")]
public sealed class RecentInputTests
{
    [Fact]
    public void Keep_recent_records_rolling_segments_of_the_live_input_and_eval_compares_in_and_out_of_stream()
    {
        using var folder = new TempFolder("recent");
        var train = VideoSslProcess.Run(folder.Path, "train", "--backbone", "small", "--source", "testsrc", "--out", folder["run"], "--max-seconds", "18",
            "--keep-recent", "0.2", "--replay", "0.5", "--replay-policy", "diverse", "--neg-gap", "1", "--pos-window", "0.3");
        Assert.True(train.ExitCode == 0, train.ToString());

        var segments = Directory.GetFiles(folder["run/recent"], "*.ts").OrderBy(f => f).ToList();
        Assert.NotEmpty(segments);
        double seconds = 0;
        foreach (var segment in segments)
        {
            long frames = Clips.CountFrames(segment);
            Assert.True(frames > 0, $"{segment} holds no frames");
            seconds += frames / 30.0;
        }
        // 12 s asked, cut into 3 s segments: what is kept spans the last 12 s, give or take a segment being written.
        Assert.InRange(seconds, 6, 12 + 3 + 1.5);

        string heldOut = Clips.Make(folder["held-out.mp4"], "mandelbrot", 10);
        var eval = VideoSslProcess.Run(folder.Path, "eval", "--checkpoint", folder["run"], "--source", heldOut, "--in-stream", folder["run/recent"],
            "--out", folder["report"], "--no-resnet", "--fps", "10");
        Assert.True(eval.ExitCode == 0, eval.ToString());
        string comparison = File.ReadAllText(folder["report/in-vs-out.md"]);
        foreach (var name in new[] { "| learned |", "| random-init |", "| raw-pixels |" }) Assert.Contains(name, comparison);
        Assert.True(File.Exists(folder["report/in-stream/report.md"]));
        Assert.Contains("in-stream (the recent training input):", eval.Stdout);
    }
}
