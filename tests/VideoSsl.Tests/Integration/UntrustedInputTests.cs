using System.Diagnostics;
using System.Text.Json;
using VideoSsl.Engine;
using VideoSsl.Learning;
using VideoSsl.Tests.Support;
using VideoSsl.Tests.Unit;

namespace VideoSsl.Tests.Integration;

/// <summary>
/// The attacks of the README's Untrusted input table, performed on the real program: another user's files in the
/// temporary folder, link loops, a second writer, damaged checkpoints, playlists in disguise, names that forge lines.
/// </summary>
[Trait("Category", "Integration")]
public class UntrustedInputTests(ClipSet clips) : IClassFixture<ClipSet>
{
    private static readonly string[] Small = ["--device", "cpu", "--size", "32", "--batch", "4", "--neg-gap", "1"];

    [Fact]
    public void Another_users_programs_in_the_temporary_folder_are_never_run()
    {
        using var work = new TempFolder("guard-attack");
        string tmp = work["tmp"];
        Directory.CreateDirectory(tmp);
        Tool.Output("chmod", "755", work.Path);
        Tool.Output("chmod", "1777", tmp);   // like /tmp: anyone may create in it
        string marker = work["ran-as-victim"];
        // The attacker gets there first: the folder the guard used to be written to, world-writable, and keeps putting an
        // ffmpeg and an ffprobe of their own in it, which note who ran them and then behave like the real ones. (Against
        // the guard as it was, a script written there and then run, this ran the attacker's scripts as root.)
        using var attacker = OtherUser.Start("""
            folder="$1/videossl-ffmpeg-guard-$2"
            mkdir -m 777 "$folder"
            for tool in ffmpeg ffprobe; do
              printf '#!/bin/sh\necho "$(id -u)" >> %s\nexec /usr/bin/%s "$@"\n' "$3" "$tool" > "$1/evil-$tool"
              chmod 755 "$1/evil-$tool"
            done
            while :; do
              for tool in ffmpeg ffprobe; do cp "$1/evil-$tool" "$folder/.$tool"; mv -f "$folder/.$tool" "$folder/$tool"; done
              sleep 0.02
            done
            """, tmp, Environment.UserName, marker);
        var environment = new Dictionary<string, string?> { ["TMPDIR"] = tmp };
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!File.Exists(Path.Combine(tmp, $"videossl-ffmpeg-guard-{Environment.UserName}", "ffprobe")) && DateTime.UtcNow < deadline) Thread.Sleep(20);

        CliResult probe, train;
        try
        {
            probe = VideoSslProcess.Run(work.Path, TimeSpan.FromMinutes(2), environment, "probe", clips.TestSrc);
            train = VideoSslProcess.Run(work.Path, TimeSpan.FromMinutes(2), environment,
                ["train", "--backbone", "small", "--source", clips.TestSrc, "--out", work["run"], .. Small, "--max-steps", "2"]);
        }
        finally
        {
            OtherUser.Stop(attacker);
        }

        Assert.True(probe.ExitCode == 0, probe.ToString());
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.False(File.Exists(marker), "a program the attacker wrote was run by: uid " + (File.Exists(marker) ? File.ReadAllText(marker) : ""));
        Assert.Empty(VideoSslProcess.LeftoverFfmpeg(Path.GetFileName(work.Path)));
    }

    [Fact]
    public async Task A_folder_of_link_loops_is_read_once_per_file_and_signals_still_stop_the_scan()
    {
        using var work = new TempFolder("loops");
        string videos = work["videos"];
        Directory.CreateDirectory(Path.Combine(videos, "sub"));
        File.Copy(clips.TestSrc, Path.Combine(videos, "a.mp4"));
        File.Copy(clips.Mandelbrot, Path.Combine(videos, "sub", "b.mp4"));
        File.CreateSymbolicLink(Path.Combine(videos, "self"), ".");
        File.CreateSymbolicLink(Path.Combine(videos, "sub", "up"), "..");

        var probe = VideoSslProcess.Run(work.Path, TimeSpan.FromMinutes(1), "probe", videos);
        var train = VideoSslProcess.Run(work.Path, TimeSpan.FromMinutes(2), ["train", "--backbone", "small", "--source", videos, "--out", work["run"], .. Small, "--max-steps", "2"]);

        Assert.True(probe.ExitCode == 0, probe.ToString());
        Assert.Equal([Path.Combine(videos, "a.mp4"), Path.Combine(videos, "sub", "b.mp4")], probe.Stdout.Split('\n').Where(l => l.StartsWith('/')));
        Assert.True(train.ExitCode == 0, train.ToString());
        Assert.Contains("train: 2 file(s) in 2 pass(es)", train.Stderr);

        // SIGTERM while the sources are still being checked (two hundred files to probe) ends the program at once.
        string many = work["many"];
        Directory.CreateDirectory(many);
        for (int i = 0; i < 200; i++) File.Copy(clips.Red, Path.Combine(many, $"{i:D3}.mp4"));
        File.CreateSymbolicLink(Path.Combine(many, "loop"), ".");
        using var scanning = VideoSslProcess.Start(work.Path, ["train", "--backbone", "small", "--source", many, "--out", work["run-many"], .. Small]);
        var stderr = scanning.StandardError.ReadToEndAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!RunningProbes(many) && !scanning.HasExited && DateTime.UtcNow < deadline) Thread.Sleep(20);
        VideoSslProcess.Signal(scanning, "TERM");
        Assert.True(scanning.WaitForExit(30_000), "the scan ignored SIGTERM");
        Assert.Equal(130, scanning.ExitCode);
        Assert.Contains("train: interrupted", await stderr);
        Assert.False(File.Exists(work["run-many/summary.json"]));
    }

    /// <summary>Whether a probe of the folder runs: FFprobe on a file, or FFmpeg describing many (files found in folders).</summary>
    private static bool RunningProbes(string marker) => Directory.GetDirectories("/proc").Any(d =>
    {
        try
        {
            string commandLine = File.ReadAllText(Path.Combine(d, "cmdline"));
            return commandLine.Contains(marker) && (commandLine.Contains("ffprobe") || commandLine.Contains("ffmpeg"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException) { return false; }
    });

    [Fact]
    public void A_second_writer_of_a_busy_run_folder_is_refused_readers_are_not_and_a_killed_run_leaves_no_stale_lock()
    {
        using var work = new TempFolder("lock");
        string run = work["run"];
        using var first = VideoSslProcess.Start(work.Path, ["train", "--backbone", "small", "--source", "testsrc", "--out", run, .. Small, "--checkpoint-every", "3", "--max-seconds", "120"]);
        _ = first.StandardError.ReadToEndAsync();
        _ = first.StandardOutput.ReadToEndAsync();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!Directory.Exists(Path.Combine(run, "checkpoints")) || !Directory.EnumerateFiles(Path.Combine(run, "checkpoints"), "step-*.ckpt").Any())
            {
                Assert.False(first.HasExited, "the first run ended early");
                Assert.True(DateTime.UtcNow < deadline, "no checkpoint in time");
                Thread.Sleep(100);
            }

            foreach (string[] second in new[]
            {
                (string[])["train", "--backbone", "small", "--source", "testsrc", "--out", run, .. Small, "--max-steps", "2"],
                ["train", "--backbone", "small", "--source", "testsrc", "--out", run, .. Small, "--max-steps", "2", "--overwrite"],
                ["train", "--out", run, "--resume", "--max-steps", "400"],
                ["demo", "--backbone", "small", "--out", run, "--overwrite", "--view", "headless", "--max-steps", "2", "testsrc"],
            })
            {
                var refused = VideoSslProcess.Run(work.Path, second);
                Assert.True(refused.ExitCode == 1, $"{string.Join(' ', second)}: {refused}");
                string line = Assert.Single(refused.StderrLines, l => l.StartsWith("error:"));
                Assert.Contains($"out '{run}': in use by process {first.Id} ", line);
            }
            var reader = VideoSslProcess.Run(work.Path, "embed", "--checkpoint", run, "--source", clips.Red, "--out", work["e.npy"], "--device", "cpu");
            Assert.True(reader.ExitCode == 0, reader.ToString());
            Assert.False(first.HasExited);
        }
        finally
        {
            VideoSslProcess.Signal(first, "KILL");
            first.WaitForExit();
        }
        var resumed = VideoSslProcess.Run(work.Path, "train", "--out", run, "--resume", "--max-seconds", "3");
        Assert.True(resumed.ExitCode == 0, resumed.ToString());
    }

    [Fact]
    public void A_damaged_checkpoint_is_never_used_a_run_folder_falls_back_to_the_older_one_and_a_named_file_is_refused()
    {
        using var work = new TempFolder("damaged");
        var trained = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", clips.TestSrc, "--out", work["run"], .. Small, "--max-steps", "6", "--checkpoint-every", "3"]);
        Assert.True(trained.ExitCode == 0, trained.ToString());
        string newest = work["run/checkpoints/step-00000006.ckpt"], older = work["run/checkpoints/step-00000003.ckpt"];
        byte[] bytes = File.ReadAllBytes(newest);
        Array.Fill(bytes, (byte)0xFF, bytes.Length / 2, 4096);   // 4 KiB of 0xFF in the weights
        File.WriteAllBytes(newest, bytes);
        string expected = $"checkpoint '{newest}': checksum mismatch (the file is damaged); using the older '{older}'";

        var embed = VideoSslProcess.Run(work.Path, "embed", "--checkpoint", work["run"], "--source", clips.Red, "--out", work["e.npy"], "--device", "cpu");
        var named = VideoSslProcess.Run(work.Path, "embed", "--checkpoint", newest, "--source", clips.Red, "--out", work["n.npy"], "--device", "cpu");
        var export = VideoSslProcess.Run(work.Path, "export", "--checkpoint", work["run"], "--out", work["w.safetensors"]);
        var resume = VideoSslProcess.Run(work.Path, "train", "--out", work["run"], "--resume", "--max-steps", "8");

        Assert.True(embed.ExitCode == 0, embed.ToString());
        Assert.Contains(embed.StderrLines, l => l.Contains(expected));
        Assert.All(OutputFileTests.ReadNpy(work["e.npy"]).Data, v => Assert.True(float.IsFinite(v)));
        Assert.Equal(1, named.ExitCode);
        Assert.Contains($"checkpoint '{newest}': checksum mismatch", Assert.Single(named.StderrLines, l => l.StartsWith("error:")));
        Assert.False(File.Exists(work["n.npy"]));
        Assert.True(export.ExitCode == 0, export.ToString());
        Assert.Contains(export.StderrLines, l => l.Contains(expected));
        Assert.Contains("Exported step 3", export.Stdout);
        Assert.True(resume.ExitCode == 0, resume.ToString());
        Assert.Contains(resume.StderrLines, l => l.Contains(expected));
        Assert.Contains("resume: " + older + " at step 3", resume.Stderr);
        Assert.Equal(8, CheckpointStore.Open(work["run"]).Checkpoint.Info.Step);
    }

    [Fact]
    public void A_local_file_that_is_really_a_playlist_cannot_pull_in_other_local_files()
    {
        using var work = new TempFolder("disguised");
        string elsewhere = work["private/holiday.mp4"];
        Directory.CreateDirectory(work["private"]);
        File.Copy(clips.TestSrc, elsewhere);
        string disguised = work["downloads/video.ts"];
        Directory.CreateDirectory(work["downloads"]);
        File.WriteAllText(disguised, $"#EXTM3U\n#EXT-X-TARGETDURATION:20\n#EXTINF:20,\n{elsewhere}\n#EXT-X-ENDLIST\n");
        string concat = work["downloads/clip.mp4"];
        File.WriteAllText(concat, $"ffconcat version 1.0\nfile '{elsewhere}'\n");
        string playlist = work["downloads/list.m3u8"];
        File.WriteAllText(playlist, $"#EXTM3U\n#EXT-X-TARGETDURATION:20\n#EXTINF:20,\n../private/holiday.mp4\n#EXT-X-ENDLIST\n");

        foreach (var (source, cause) in new[]
        {
            (disguised, "FFmpeg's 'hls' demuxer, which opens further inputs"),
            (concat, "FFmpeg's 'concat' demuxer, which opens further inputs"),
            (playlist, "a local playlist may only use files under its own folder"),
        })
        {
            var result = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", source, "--out", work["run"], .. Small, "--max-steps", "2"]);
            Assert.True(result.ExitCode == 1, result.ToString());
            string line = Assert.Single(result.StderrLines, l => l.StartsWith("error:"));
            Assert.Contains($"source '{source}'", line);
            Assert.Contains(cause, line);
        }

        // A playlist whose segments sit in its own folder is read as one.
        string hls = work["hls"];
        Directory.CreateDirectory(hls);
        Tool.Output("ffmpeg", "-v", "error", "-i", clips.TestSrc, "-c", "copy", "-f", "hls", "-hls_time", "4", "-hls_list_size", "0", Path.Combine(hls, "index.m3u8"));
        var good = VideoSslProcess.Run(work.Path, ["train", "--backbone", "small", "--source", Path.Combine(hls, "index.m3u8"), "--out", work["run-hls"], .. Small, "--max-steps", "2"]);
        Assert.True(good.ExitCode == 0, good.ToString());
    }

    [Fact]
    public void Names_that_hold_line_breaks_or_escapes_are_printed_escaped_and_names_that_are_not_utf8_are_refused_clearly()
    {
        using var work = new TempFolder("names");
        string forged = work["clip\nerror: all checkpoints deleted\u001b[2J.mp4"];
        Clips.TextFile(forged);
        var result = VideoSslProcess.Run(work.Path, "probe", forged);
        Assert.Equal(1, result.ExitCode);
        string line = Assert.Single(result.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("clip\\nerror: all checkpoints deleted\\x1b[2J.mp4", line);

        // A name whose bytes are not UTF-8 cannot be passed back to the file system by .NET: one clear line.
        Tool.Output("sh", "-c", "cp \"$1\" \"$2/$(printf 'bad\\377name.mp4')\"", "sh", clips.Red, work.Path);
        var (exit, _, stderr) = Tool.Run("sh", "-c", "exec dotnet \"$1\" probe \"$2/$(printf 'bad\\377name.mp4')\"", "sh",
            Path.Combine(AppContext.BaseDirectory, "videossl.dll"), work.Path);
        Assert.Equal(1, exit);
        Assert.Contains("the name is not valid UTF-8", Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
    }
}
