using System.Text.Json;
using VideoSsl.Learning;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Integration;

/// <summary>
/// The faults of the README's Faults table: a disk that fills up, limits that come before any step, sources that are
/// short or silent, outputs that cannot be made, bad values on the command line and in a configuration file.
/// </summary>
[Trait("Category", "Integration")]
public class FaultTests(ClipSet clips) : IClassFixture<ClipSet>
{
    private static readonly string[] Small = ["--device", "cpu", "--size", "32", "--batch", "4", "--neg-gap", "1"];

    private static string ErrorLine(CliResult result) => Assert.Single(result.StderrLines, l => l.StartsWith("error:"));

    [Fact]
    public void A_full_disk_mid_run_stops_with_one_line_keeps_the_previous_checkpoint_writes_the_summary_and_leaves_no_temporary_file()
    {
        using var work = new TempFolder("disk-full");
        var first = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", clips.TestSrc, "--out", work["run"], .. Small, "--max-steps", "4", "--checkpoint-every", "4"]);
        Assert.True(first.ExitCode == 0, first.ToString());
        string previous = work["run/checkpoints/step-00000004.ckpt"];
        // The next checkpoint's temporary file is a link to /dev/full: writing it fails as on a full disk.
        string temporary = work["run/checkpoints/.step-00000008.ckpt.tmp"];
        File.CreateSymbolicLink(temporary, "/dev/full");

        var full = VideoSslProcess.Run(work.Path, "train", "--out", work["run"], "--resume", "--max-steps", "12", "--checkpoint-every", "4");

        Assert.Equal(1, full.ExitCode);
        string line = ErrorLine(full);
        Assert.Contains($"checkpoint '{work["run/checkpoints/step-00000008.ckpt"]}': could not be written (No space left on device", line);
        Assert.Contains($"the previous one, '{previous}', is intact", line);
        Assert.DoesNotContain("unexpected", full.Stderr);
        Assert.False(File.Exists(temporary) || new FileInfo(temporary).LinkTarget is not null, "the temporary file was left behind");
        Assert.Equal(4, CheckpointStore.Open(work["run"]).Checkpoint.Info.Step);
        using var summary = JsonDocument.Parse(File.ReadAllText(work["run/summary.json"]));
        Assert.StartsWith("it failed: checkpoint", summary.RootElement.GetProperty("stop-reason").GetString());
    }

    [Fact]
    public void A_run_starts_over_only_in_its_own_files_and_never_in_a_folder_of_other_files()
    {
        using var work = new TempFolder("foreign");
        string project = work["project"];
        Directory.CreateDirectory(Path.Combine(project, "checkpoints"));
        File.WriteAllText(Path.Combine(project, "notes.txt"), "mine");
        File.WriteAllText(Path.Combine(project, "checkpoints", "model.pt"), "mine too");
        foreach (string[] extra in new[] { (string[])[], ["--overwrite"] })
        {
            var refused = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", clips.TestSrc, "--out", project, .. Small, "--max-steps", "2", .. extra]);
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains($"out '{project}': holds files that are not a VideoSsl run (such as 'notes.txt')", ErrorLine(refused));
        }
        Assert.Equal(["checkpoints", "notes.txt"], Directory.EnumerateFileSystemEntries(project).Select(Path.GetFileName).Order());
        Assert.True(File.Exists(Path.Combine(project, "checkpoints", "model.pt")));

        // Starting a run over removes the run's own files, and nothing a user put beside them.
        var first = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", clips.TestSrc, "--out", work["run"], .. Small, "--max-steps", "2"]);
        Assert.True(first.ExitCode == 0, first.ToString());
        File.WriteAllText(work["run/checkpoints/keep-me.txt"], "mine");
        var again = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", clips.TestSrc, "--out", work["run"], .. Small, "--max-steps", "3", "--overwrite"]);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.True(File.Exists(work["run/checkpoints/keep-me.txt"]));
        Assert.Equal(["best.ckpt", "keep-me.txt", "step-00000003.ckpt"], Directory.EnumerateFiles(work["run/checkpoints"]).Select(Path.GetFileName).Order());
    }

    [Theory]
    [InlineData("frames", "before the frame limit (5) was reached")]
    [InlineData("seconds", "before the time limit (2 s) was reached")]
    public void A_run_stopped_by_a_limit_before_any_step_has_failed(string limit, string expected)
    {
        using var work = new TempFolder("no-step");
        string[] args = limit == "frames"
            ? ["train", "--backbone", "small", "--source", clips.TestSrc, "--out", work["run"], .. Small, "--max-frames", "5"]
            : ["train", "--backbone", "small", "--source", "testsrc", "--out", work["run"], "--device", "cpu", "--size", "32", "--batch", "4096", "--max-seconds", "2"];
        var result = VideoSslProcess.Run(work.Path, args);
        Assert.Equal(1, result.ExitCode);
        string line = ErrorLine(result);
        Assert.Contains("no training step was possible " + expected, line);
        Assert.DoesNotContain("checkpoint: (none written)", result.Stdout);
    }

    [Fact]
    public void A_clip_too_short_for_the_default_batch_trains_on_the_anchors_that_fit_with_a_warning()
    {
        using var work = new TempFolder("short-fits");
        string clip = Clips.Make(work["six.mp4"], "testsrc", 6);
        var result = VideoSslProcess.Run(work.Path, "train", "--backbone", "small", "--source", clip, "--out", work["run"], "--device", "cpu", "--size", "32");
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains(result.StderrLines, l => l.Contains("warn") && l.Contains("training on batches of 2"));
        using var metrics = new StringReader(File.ReadAllText(work["run/metrics.jsonl"]));
        Assert.Equal(2, JsonDocument.Parse(metrics.ReadLine()!).RootElement.GetProperty("pairs").GetInt32());
    }

    [Fact]
    public void A_udp_source_without_a_sender_is_waited_for_says_so_and_ends_with_one_line_at_the_limit()
    {
        using var work = new TempFolder("udp-silent");
        string url = $"udp://127.0.0.1:{LocalNetwork.FreeUdpPort()}";
        var result = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", url, "--out", work["run"], .. Small, "--read-timeout", "1", "--max-seconds", "4"]);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains(result.StderrLines, l => l.Contains("warn") && l.Contains($"source '{url}': nothing has arrived for 1 s; waiting for the sender to start"));
        Assert.Contains($"no training step was possible before the time limit (4 s) was reached: no frame arrived from '{url}'", ErrorLine(result));
        Assert.Empty(VideoSslProcess.LeftoverFfmpeg(url));
    }

    [Fact]
    public void Outputs_under_a_regular_file_and_a_clip_too_short_to_evaluate_get_one_line_each()
    {
        using var work = new TempFolder("outputs");
        var trained = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", clips.TestSrc, "--out", work["run"], .. Small, "--max-steps", "2"]);
        Assert.True(trained.ExitCode == 0, trained.ToString());
        string file = clips.Red;
        string twoFrames = Clips.Make(work["two.mp4"], "testsrc2=size=64x48:rate=10", 0.2);
        foreach (var (args, expected) in new (string[], string)[]
        {
            (["embed", "--checkpoint", work["run"], "--source", clips.Red, "--out", Path.Combine(file, "e.npy"), "--device", "cpu"], $"'{file}' is a file, not a folder"),
            (["export", "--checkpoint", work["run"], "--out", Path.Combine(file, "w.pt")], $"'{file}' is a file, not a folder"),
            (["eval", "--checkpoint", work["run"], "--source", clips.Red, "--out", Path.Combine(file, "report"), "--no-resnet"], $"'{file}' is a file, not a folder"),
            (["eval", "--checkpoint", work["run"], "--source", twoFrames, "--out", work["report"], "--no-resnet", "--device", "cpu"], "so there are no far pairs to measure"),
        })
        {
            var result = VideoSslProcess.Run(work.Path, args);
            Assert.True(result.ExitCode == 1, $"{string.Join(' ', args)}: {result}");
            Assert.Contains(expected, ErrorLine(result));
            Assert.DoesNotContain("unexpected", result.Stderr);
        }
    }

    [Fact]
    public void Bad_values_exit_2_on_the_command_line_and_1_from_a_config_file()
    {
        using var work = new TempFolder("exit-codes");
        foreach (var (options, expected) in new (string[], string)[]
        {
            (["--size", "0"], "size must be between"),
            (["--batch", "0"], "batch must be at least 2"),
            (["--fps", "-1"], "fps must be above 0"),
            (["--lr", "nan"], "lr must be above 0"),
            (["--fps", "inf"], "--fps expects a number, not 'inf'"),
            (["--neg-gap", "1e308"], "neg-gap must be at most 86400"),
            (["--view", "headless", "--record", work["notes.txt"]], "record must be a video file ending in .mp4, .mkv or .mov"),
        })
        {
            var result = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", clips.TestSrc, "--out", work["run"], .. options]);
            Assert.True(result.ExitCode == 2, $"{string.Join(' ', options)}: {result}");
            Assert.Contains(expected, Assert.Single(result.StderrLines));
            Assert.DoesNotContain("System.", result.Stderr);
        }
        var noSource = VideoSslProcess.Run(work.Path, "train", "--backbone", "small", "--out", work["run"]);
        Assert.Equal(2, noSource.ExitCode);
        Assert.Contains("no source given", Assert.Single(noSource.StderrLines));

        foreach (var (json, expected) in new[]
        {
            ("""{ "decode": { "size": 0 } }""", "size must be between"),
            ("""{ "sampler": null }""", "'sampler' is null"),
            ("""{ "sampler": { "batch": 0 }, }""", "batch must be at least 2"),
            ("""{ "sources": ["testsrc:life:filename=README.md:size=1000x1000"] }""", "life takes no option 'filename'"),
            ("""{ "view": { "vew": "window" } }""", "unknown key 'view.vew'"),
        })
        {
            string config = work["bad.json"];
            File.WriteAllText(config, json);
            string[] args = json.Contains("sources") ? ["train", "--backbone", "small", "--config", config, "--out", work["run"], .. Small, "--max-steps", "1"] : ["train", "--backbone", "small", "--config", config, "--source", clips.TestSrc, "--out", work["run"]];
            var result = VideoSslProcess.Run(work.Path, args);
            Assert.True(result.ExitCode == 1, $"{json}: {result}");
            Assert.Contains(expected, Assert.Single(result.StderrLines, l => l.StartsWith("error:")));
            Assert.DoesNotContain("unexpected", result.Stderr);
        }
    }
}
