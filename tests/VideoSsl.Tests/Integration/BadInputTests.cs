using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Integration;

/// <summary>Bad input as the only source: one clear line naming the file, a non-zero exit, and no FFmpeg left behind.</summary>
public class BadInputTests(ClipSet clips) : IClassFixture<ClipSet>
{
    [Theory]
    [InlineData("missing", "no such file")]
    [InlineData("empty", "file is empty")]
    [InlineData("text", "not a readable video")]
    [InlineData("truncated", "not a readable video")]
    [InlineData("audio-only", "audio only")]
    public void A_bad_only_source_fails_with_one_line_that_names_it(string kind, string cause)
    {
        using var work = new TempFolder("bad");
        string path = kind switch
        {
            "missing" => work["missing.mp4"],
            "empty" => WriteEmpty(work["empty.mp4"]),
            "text" => Clips.TextFile(work["text.mp4"]),
            "truncated" => Clips.Truncated(work["truncated.mp4"], clips.TestSrc),
            _ => Clips.AudioOnly(work["audio.m4a"]),
        };

        var result = VideoSslProcess.Run(work.Path, "train", "--source", path, "--out", work["run"], "--device", "cpu");

        Assert.NotEqual(0, result.ExitCode);
        string line = Assert.Single(result.StderrLines);
        Assert.StartsWith("error: train: source '", line);
        Assert.Contains(path, line);
        Assert.Contains(cause, line);
        Assert.DoesNotContain("   at ", result.Stderr);   // no stack trace without --verbose
        Assert.Empty(VideoSslProcess.LeftoverFfmpeg(work.Path));
        Assert.False(Directory.Exists(work["run/checkpoints"]));
    }

    [Fact]
    public void Bad_files_inside_a_folder_are_reported_and_skipped_and_the_run_goes_on()
    {
        using var work = new TempFolder("bad-folder");
        string folder = work["videos"];
        Directory.CreateDirectory(folder);
        File.Copy(clips.TestSrc, Path.Combine(folder, "good.mp4"));
        Clips.TextFile(Path.Combine(folder, "text.mp4"));
        Clips.Truncated(Path.Combine(folder, "truncated.mp4"), clips.TestSrc);

        var result = VideoSslProcess.Run(work.Path, "train", "--source", folder, "--out", work["run"], "--device", "cpu",
            "--size", "48", "--batch", "8", "--neg-gap", "1", "--max-steps", "3");

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(result.StderrLines, l => l.Contains("warn") && l.Contains("text.mp4") && l.Contains("skipped"));
        Assert.Contains(result.StderrLines, l => l.Contains("warn") && l.Contains("truncated.mp4") && l.Contains("skipped"));
        Assert.Contains("skipped:", result.Stdout);
    }

    [Fact]
    public void A_missing_option_value_or_unknown_option_is_a_usage_error()
    {
        var unknown = VideoSslProcess.Run(clips.Root, "train", "--sorce", "x.mp4");
        Assert.Equal(2, unknown.ExitCode);
        Assert.Contains("--sorce", Assert.Single(unknown.StderrLines));

        var contradictory = VideoSslProcess.Run(clips.Root, "train", "--source", clips.TestSrc, "--out", "run", "--pos-window", "3", "--neg-gap", "2");
        Assert.Equal(1, contradictory.ExitCode);
        Assert.Contains("neg-gap", Assert.Single(contradictory.StderrLines));
    }

    [Fact]
    public void A_clip_too_short_for_any_batch_says_why_instead_of_training_nothing()
    {
        using var work = new TempFolder("short");
        string clip = Clips.Make(work["short.mp4"], "testsrc", 3);
        var result = VideoSslProcess.Run(work.Path, "train", "--source", clip, "--out", work["run"], "--device", "cpu", "--size", "32");
        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.StderrLines, l => l.StartsWith("error:"));
        Assert.Contains("no training step was possible", line);
        Assert.Contains("--neg-gap", line);
    }

    private static string WriteEmpty(string path)
    {
        File.WriteAllBytes(path, []);
        return path;
    }
}
