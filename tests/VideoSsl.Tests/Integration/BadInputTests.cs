using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Messages;
using VideoSsl.Tests.Support;
using VideoSsl.Tests.Unit;

namespace VideoSsl.Tests.Integration;

/// <summary>
/// Every kind of bad or unusual input: a clear one-line error and a non-zero exit, or a warning and the run goes
/// on; never a hang, a crash or an FFmpeg process left behind.
/// </summary>
[Trait("Category", "Integration")]
public class BadInputTests(ClipSet clips) : IClassFixture<ClipSet>
{
    private static readonly string[] Small = ["--device", "cpu", "--size", "48", "--batch", "8", "--neg-gap", "1"];

    [Theory]
    [InlineData("missing", "no such file")]
    [InlineData("empty", "file is empty")]
    [InlineData("text", "not a readable video")]
    [InlineData("random-bytes", "not a readable video")]
    [InlineData("truncated", "moov atom not found")]
    [InlineData("audio-only", "audio only")]
    [InlineData("url-without-server", "Connection refused")]
    [InlineData("missing-webcam", "no camera at /dev/video77")]
    [InlineData("bad-scheme", "not supported")]
    [InlineData("filter-injection", "not a synthetic source")]
    [InlineData("dev-zero", "not a regular file (a character device)")]
    [InlineData("fifo", "not a regular file (a named pipe)")]
    public void A_bad_only_source_fails_with_one_line_that_names_it(string kind, string cause)
    {
        using var work = new TempFolder("bad");
        string source = kind switch
        {
            "missing" => work["missing.mp4"],
            "empty" => WriteEmpty(work["empty.mp4"]),
            "text" => Clips.TextFile(work["text.mp4"]),
            "random-bytes" => Clips.RandomBytes(work["random.mp4"]),
            "truncated" => Clips.Truncated(work["truncated.mp4"], clips.TestSrc),
            "audio-only" => Clips.AudioOnly(work["audio.m4a"]),
            "url-without-server" => $"rtsp://127.0.0.1:{LocalNetwork.FreeTcpPort()}/{Path.GetFileName(work.Path)}",
            "missing-webcam" => "webcam:/dev/video77",
            "bad-scheme" => "gopher://127.0.0.1/video",
            "dev-zero" => "/dev/zero",
            "fifo" => MakeFifo(work["pipe.mp4"]),
            _ => "testsrc:movie=/etc/passwd",
        };

        var result = VideoSslProcess.Run(work.Path, "train", "--backbone", "small", "--source", source, "--out", work["run"], "--device", "cpu");

        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.StderrLines, l => l.StartsWith("error:"));
        Assert.StartsWith("error: train: source '", line);
        Assert.Contains(source, line);
        Assert.Contains(cause, line);
        Assert.DoesNotContain("   at ", result.Stderr);   // no stack trace without --verbose
        Assert.Empty(VideoSslProcess.LeftoverFfmpeg(Path.GetFileName(work.Path)));
        Assert.False(Directory.Exists(work["run/checkpoints"]));
    }

    [Fact]
    public void A_file_that_ends_early_without_an_error_trains_on_what_it_has_and_is_reported_partial()
    {
        using var work = new TempFolder("partial");
        string partial = Clips.TruncatedFaststart(work["partial.mp4"], work["whole.mp4"]);
        var result = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", partial, "--out", work["run"], .. Small]);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(result.StderrLines, l => l.Contains("warn") && l.Contains("partial") && l.Contains("of 500 expected frames"));
        Assert.Contains("partial:", result.Stdout);
        using var summary = JsonDocument.Parse(File.ReadAllText(work["run/summary.json"]));
        var report = Assert.Single(summary.RootElement.GetProperty("sources").EnumerateArray());
        Assert.True(report.GetProperty("partial").GetBoolean());
        Assert.InRange(report.GetProperty("frames").GetInt64(), 100, 400);
    }

    [Theory]
    [InlineData("8k", 3)]
    [InlineData("variable-frame-rate", 75)]
    [InlineData("odd-size", 25)]
    [InlineData("10-bit", 25)]
    [InlineData("grey", 25)]
    [InlineData("name with spaces, commas and \"quotes\"", 25)]
    [InlineData("-starts-with-a-dash", 25)]
    [InlineData("ünïcødé", 25)]
    public void Unusual_but_valid_videos_decode_every_frame(string kind, int frames)
    {
        using var work = new TempFolder("unusual");
        string clip = kind switch
        {
            "8k" => Clips.Make(work["8k.mp4"], "testsrc2=size=7680x4320:rate=5", 0.6),
            "variable-frame-rate" => Clips.Make(work["vfr.mp4"],
                "testsrc2=size=160x120:rate=25,setpts='PTS+if(gte(N\\,20)\\,0.5/TB\\,0)+if(gte(N\\,40)\\,0.3/TB\\,0)'", 3,
                "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -fps_mode vfr"),
            "odd-size" => Clips.Make(work["odd.mp4"], "testsrc2=size=321x241:rate=25", 1, "-c:v libx264 -preset ultrafast -pix_fmt yuv444p"),
            "10-bit" => Clips.Make(work["ten.mp4"], "testsrc2=size=160x120:rate=25", 1, "-c:v libx264 -preset ultrafast -pix_fmt yuv420p10le"),
            "grey" => Clips.Make(work["grey.mkv"], "testsrc2=size=160x120:rate=25", 1, "-c:v ffv1 -pix_fmt gray"),
            _ => Clips.Make(work[$"{kind}.mp4"], "testsrc", 1),
        };
        string run = TrainedRun(work);
        var result = VideoSslProcess.Run(work.Path, "embed", "--checkpoint", run, "--source", clip, "--out", work["e.npy"], "--device", "cpu");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(frames, OutputFileTests.ReadNpy(work["e.npy"]).Rows);
        Assert.Contains(EmbeddingFilesCsv(clip), File.ReadAllLines(work["e.csv"])[1]);
    }

    [Fact]
    public void A_video_with_a_rotation_tag_comes_out_upright()
    {
        using var work = new TempFolder("rotated");
        // Top half red, bottom half blue; tagged as rotated 90 degrees, it must come out as a left and a right half.
        string clip = Clips.Make(work["rotated.mp4"], "color=red:s=64x32[a];color=blue:s=64x32[b];[a][b]vstack", 1,
            "-c:v libx264 -preset ultrafast -pix_fmt yuv444p -qp 0");
        Clips.WithRotation90(clip);
        var info = MediaProbe.Probe(clip);
        var schedule = DecodeSchedule.Files([(new VideoSource(0, clip, false), info)], 1, new DecodeSettings { Size = 2 });
        var stage = new DecodeStage(schedule, [], new DecodeSettings { Size = 2 }, DecodeResumePoint.FromStart(1), null, NullLogger.Instance);
        stage.Start(CancellationToken.None);
        Assert.True(stage.Output.TryReadBlocking(out _, CancellationToken.None));   // source started
        Assert.True(stage.Output.TryReadBlocking(out var first, CancellationToken.None));
        byte[] p = first.Frame!.Pixels.ToArray();   // 2x2 rgb: top-left, top-right, bottom-left, bottom-right
        stage.Output.TryReadBlocking(out _, CancellationToken.None);
        Assert.Equal(p[0..3], p[6..9]);      // left column is one colour
        Assert.Equal(p[3..6], p[9..12]);     // right column is one colour
        Assert.NotEqual(p[0..3], p[3..6]);   // and the two columns differ
    }

    [Fact]
    public void Bad_files_inside_a_folder_are_reported_and_skipped_and_the_run_trains_on_the_good_ones()
    {
        using var work = new TempFolder("bad-folder");
        string folder = work["videos"];
        Directory.CreateDirectory(folder);
        File.Copy(clips.TestSrc, Path.Combine(folder, "good-1.mp4"));
        File.Copy(clips.Mandelbrot, Path.Combine(folder, "good-2.mp4"));
        Clips.TextFile(Path.Combine(folder, "text.mp4"));
        Clips.RandomBytes(Path.Combine(folder, "random.mp4"));
        WriteEmpty(Path.Combine(folder, "empty.mp4"));
        Clips.Truncated(Path.Combine(folder, "truncated.mp4"), clips.TestSrc);
        Clips.AudioOnly(Path.Combine(folder, "audio.mp4"));
        Clips.TruncatedFaststart(Path.Combine(folder, "partial.mp4"), work["whole.mp4"]);

        var result = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", folder, "--out", work["run"], .. Small, "--fps", "5"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        using var summary = JsonDocument.Parse(File.ReadAllText(work["run/summary.json"]));
        var skipped = summary.RootElement.GetProperty("skipped").EnumerateArray().Select(s => Path.GetFileName(s.GetProperty("path").GetString()!)).Order();
        Assert.Equal(["audio.mp4", "empty.mp4", "random.mp4", "text.mp4", "truncated.mp4"], skipped);
        var trained = summary.RootElement.GetProperty("sources").EnumerateArray().ToDictionary(s => Path.GetFileName(s.GetProperty("path").GetString()!));
        Assert.Equal(["good-1.mp4", "good-2.mp4", "partial.mp4"], trained.Keys.Order());
        Assert.True(trained["partial.mp4"].GetProperty("partial").GetBoolean());
        Assert.All(result.StderrLines.Where(l => l.Contains("skipped")), l => Assert.Contains("warn", l));
        foreach (string name in new[] { "text.mp4", "random.mp4", "empty.mp4", "truncated.mp4", "audio.mp4" })
            Assert.Contains(result.Stdout.Split('\n'), l => l.StartsWith("skipped:") && l.Contains(name));
    }

    [Fact]
    public void Wrong_options_and_configuration_fail_before_anything_starts()
    {
        using var work = new TempFolder("options");
        var unknown = VideoSslProcess.Run(work.Path, "train", "--sorce", "x.mp4");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("--sorce", Assert.Single(unknown.StderrLines));

        // A bad value on the command line is a bad command line (2); a configuration file or an output folder that
        // cannot be used is bad input (1).
        foreach (var (options, expected, exit) in new (string[], string, int)[]
        {
            (["--pos-window", "3", "--neg-gap", "2"], "neg-gap", 2),
            (["--size", "0"], "size must be", 2),
            (["--batch", "1"], "batch must be at least 2", 2),
            (["--config", work["missing.json"]], "cannot be read", 1),
            (["--config", work.Path], "cannot be read", 1),
            (["--out", Path.Combine(clips.TestSrc, "run")], "not writable", 1),
        })
        {
            string[] args = ["train", "--backbone", "small", "--source", clips.TestSrc, .. options.Contains("--out") ? options : [.. options, "--out", work["run"]]];
            var result = VideoSslProcess.Run(work.Path, args);
            Assert.True(result.ExitCode == exit, $"{string.Join(' ', options)}: {result}");
            Assert.Contains(expected, Assert.Single(result.StderrLines));
        }
    }

    [Fact]
    public void Resuming_with_another_model_shape_is_a_clear_error()
    {
        using var work = new TempFolder("shape");
        string run = TrainedRun(work);
        var result = VideoSslProcess.Run(work.Path, "train", "--out", run, "--resume", "--width", "2", "--max-steps", "9");
        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.StderrLines, l => l.StartsWith("error:"));
        Assert.Contains("another shape", line);
    }

    [Fact]
    public void A_clip_too_short_for_any_batch_says_why_instead_of_training_nothing()
    {
        using var work = new TempFolder("short");
        string clip = Clips.Make(work["short.mp4"], "testsrc", 3);
        var result = VideoSslProcess.Run(work.Path, "train", "--backbone", "small", "--source", clip, "--out", work["run"], "--device", "cpu", "--size", "32");
        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.StderrLines, l => l.StartsWith("error:"));
        Assert.Contains("no training step was possible", line);
        Assert.Contains("--neg-gap", line);
    }

    private string TrainedRun(TempFolder work)
    {
        var result = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", clips.TestSrc, "--out", work["run"], .. Small, "--max-steps", "3"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return work["run"];
    }

    private static string EmbeddingFilesCsv(string path) => VideoSsl.Graph.Outputs.EmbeddingFiles.Csv(path);

    private static string MakeFifo(string path)
    {
        Tool.Output("mkfifo", path);
        return path;
    }

    private static string WriteEmpty(string path)
    {
        File.WriteAllBytes(path, []);
        return path;
    }
}
