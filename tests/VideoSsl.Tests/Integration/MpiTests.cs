using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Integration;

/// <summary>
/// Runs across MPI ranks on this machine, with Open MPI's real mpirun (two ranks on two cores, oversubscribed),
/// and job-array shards: the outputs must be byte for byte one process's.
/// </summary>
[Trait("Category", "Integration")]
public class MpiTests : IDisposable
{
    private readonly TempFolder _work = new("mpi");
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    /// <summary>Three clips of different lengths: over two ranks one takes one file and the other two.</summary>
    private string Folder()
    {
        string folder = _work["clips"];
        Directory.CreateDirectory(folder);
        Clips.Make(Path.Combine(folder, "a.mp4"), "testsrc2=size=96x72:rate=10", 3);
        Clips.Make(Path.Combine(folder, "b.mp4"), "mandelbrot=size=96x72:rate=10", 4);
        Clips.Make(Path.Combine(folder, "c.mp4"), "testsrc=size=96x72:rate=10", 2);
        return folder;
    }

    private string Trained(string folder)
    {
        string run = _work["run"];
        var result = VideoSslProcess.Run(_work.Path, "train", "--backbone", "small", "--source", folder, "--out", run, "--max-steps", "2",
            "--device", "cpu", "--size", "48", "--batch", "8", "--neg-gap", "1", "--view", "none");
        Assert.True(result.ExitCode == 0, result.ToString());
        return run;
    }

    private static void AssertSameFiles(string expectedNpy, string actualNpy)
    {
        Assert.Equal(File.ReadAllBytes(expectedNpy), File.ReadAllBytes(actualNpy));
        Assert.Equal(File.ReadAllBytes(Path.ChangeExtension(expectedNpy, ".csv")), File.ReadAllBytes(Path.ChangeExtension(actualNpy, ".csv")));
    }

    [Fact]
    public void Embed_over_two_ranks_and_over_two_shards_writes_the_bytes_of_one_process()
    {
        string folder = Folder(), run = Trained(folder);
        string[] common = ["--checkpoint", run, "--source", folder, "--device", "cpu", "--threads", "1"];
        var single = VideoSslProcess.Run(_work.Path, ["embed", .. common, "--out", _work["one.npy"]]);
        Assert.True(single.ExitCode == 0, single.ToString());

        var ranks = VideoSslProcess.RunMpi(_work.Path, 2, Limit, null, ["embed", .. common, "--out", _work["ranks.npy"]]);
        Assert.True(ranks.ExitCode == 0, ranks.ToString());
        AssertSameFiles(_work["one.npy"], _work["ranks.npy"]);
        // Each file read by one rank only: rank 0 takes the first of the three, rank 1 the other two.
        Assert.Contains("1 source(s) (share 0/2 of the files, MPI rank 0)", ranks.Stderr);
        Assert.Contains("2 source(s) (share 1/2 of the files, MPI rank 1)", ranks.Stderr);
        Assert.Single(ranks.Stdout.Split('\n'), line => line.StartsWith("Embedded ", StringComparison.Ordinal));   // rank 0 alone reports

        foreach (string shard in new[] { "0/2", "1/2" })
        {
            var part = VideoSslProcess.Run(_work.Path, ["embed", .. common, "--out", _work["sharded.npy"], "--shard", shard]);
            Assert.True(part.ExitCode == 0, part.ToString());
        }
        Assert.False(File.Exists(_work["sharded.npy"]));
        var merged = VideoSslProcess.Run(_work.Path, "merge", "--shards", _work["sharded.shard-1-of-2.npy"], _work["sharded.shard-0-of-2.npy"], "--out", _work["merged.npy"]);
        Assert.True(merged.ExitCode == 0, merged.ToString());
        AssertSameFiles(_work["one.npy"], _work["merged.npy"]);

        // A Slurm array task takes its index from the environment: task 5 of an array starting at 4 is shard 1.
        var slurm = VideoSslProcess.Run(_work.Path, TimeSpan.FromMinutes(2), new Dictionary<string, string?> { ["SLURM_ARRAY_TASK_ID"] = "5", ["SLURM_ARRAY_TASK_MIN"] = "4" },
            ["embed", .. common, "--out", _work["slurm.npy"], "--shard", "auto/2"]);
        Assert.True(slurm.ExitCode == 0, slurm.ToString());
        AssertSameFiles(_work["sharded.shard-1-of-2.npy"], _work["slurm.shard-1-of-2.npy"]);

        var incomplete = VideoSslProcess.Run(_work.Path, "merge", "--shards", _work["sharded.shard-0-of-2.npy"], "--out", _work["half.npy"]);
        Assert.Equal(1, incomplete.ExitCode);
        Assert.Contains("shard 1 of 2 missing", incomplete.Stderr);
        Assert.False(File.Exists(_work["half.npy"]));
    }

    [Fact]
    public void A_rank_that_fails_ends_the_whole_job_with_an_error_no_output_and_no_ffmpeg_left()
    {
        string folder = Folder(), run = Trained(folder);
        string broken = Clips.Truncated(_work["broken.mp4"], Path.Combine(folder, "b.mp4"));
        // The broken file is the second of two named files, so rank 1 meets it while rank 0 embeds the first.
        var result = VideoSslProcess.RunMpi(_work.Path, 2, Limit, null,
            "embed", "--checkpoint", run, "--source", Path.Combine(folder, "a.mp4"), broken, "--out", _work["e.npy"], "--device", "cpu");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("rank 1 of 2: source '" + broken + "'", result.Stderr);
        Assert.False(File.Exists(_work["e.npy"]));
        Assert.False(File.Exists(_work["e.csv"]));
        Thread.Sleep(500);
        Assert.Empty(VideoSslProcess.LeftoverFfmpeg(_work.Path));
    }

    [Fact]
    public void A_command_that_does_not_run_across_ranks_is_refused_under_mpirun_in_one_line()
    {
        var result = VideoSslProcess.RunMpi(_work.Path, 2, Limit, null, "probe", Folder());
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("error: probe: probe does not run across MPI ranks (this process is one of 2): start it without mpirun", result.Stderr);
    }

    /// <summary>A folder of three clips long enough to train on: over two ranks rank 0 takes the short one, rank 1 the two longer ones.</summary>
    private string TrainingFolder(double first = 6, double others = 12)
    {
        string folder = _work["train-clips"];
        Directory.CreateDirectory(folder);
        Clips.Make(Path.Combine(folder, "a.mp4"), "testsrc2=size=96x72:rate=10", first);
        Clips.Make(Path.Combine(folder, "b.mp4"), "mandelbrot=size=96x72:rate=10", others);
        Clips.Make(Path.Combine(folder, "c.mp4"), "testsrc=size=96x72:rate=10", others);
        return folder;
    }

    private static readonly string[] SmallAndQuick = ["--backbone", "small", "--device", "cpu", "--size", "48", "--batch", "8", "--neg-gap", "1", "--view", "none", "--threads", "1"];

    /// <summary>The weight hashes each rank logs after each step with --verbose: (rank, step) to (idle?, hash).</summary>
    private static Dictionary<(int Rank, long Step), (bool Idle, string Hash)> StepHashes(string log) =>
        System.Text.RegularExpressions.Regex.Matches(log, @"train: rank (\d+) step (\d+) (batch|idle) weights ([0-9A-F]+)")
            .ToDictionary(m => (int.Parse(m.Groups[1].Value), long.Parse(m.Groups[2].Value)), m => (m.Groups[3].Value == "idle", m.Groups[4].Value));

    [Fact]
    public void Train_over_two_ranks_holds_the_same_weights_on_both_after_every_step_even_when_one_ranks_files_end_first()
    {
        string folder = TrainingFolder(), run = _work["run"];
        var result = VideoSslProcess.RunMpi(_work.Path, 2, Limit, null, ["train", "--source", folder, "--out", run, "--epochs", "1", .. SmallAndQuick, "--weight-average", "0.9", "--centre", "--verbose"]);
        Assert.True(result.ExitCode == 0, result.ToString());

        // The hashes cover the weight average too: it starts from rank 0's and follows the same steps everywhere, idle ones
        // included; and the centre, a mean over every rank's anchors (each rank's own would differ: different clips).
        var hashes = StepHashes(result.Stderr);
        long steps = hashes.Keys.Max(k => k.Step);
        Assert.True(steps >= 5, result.Stderr);
        for (long step = 1; step <= steps; step++)
            Assert.True(hashes[(0, step)].Hash == hashes[(1, step)].Hash, $"step {step}: rank 0 {hashes[(0, step)]}, rank 1 {hashes[(1, step)]}");
        // Rank 0's one short file ends first: it steps idle with rank 1 until rank 1's two files end too.
        Assert.Contains(hashes, h => h.Key.Rank == 0 && h.Value.Idle);
        Assert.DoesNotContain(hashes, h => h.Key.Rank == 1 && h.Value.Idle);

        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        Assert.Equal(2, summary.RootElement.GetProperty("world-size").GetInt32());
        Assert.Equal(steps, summary.RootElement.GetProperty("steps").GetInt64());
        Assert.Equal("the sources ended", summary.RootElement.GetProperty("stop-reason").GetString());
        // Rank 0 alone writes the run: its metrics hold one line per step it had a batch for.
        Assert.Equal(hashes.Count(h => h.Key.Rank == 0 && !h.Value.Idle), File.ReadAllLines(Path.Combine(run, "metrics.jsonl")).Length);
        Assert.Contains("on cpu x 2 MPI ranks", result.Stdout);
    }

    [Fact]
    public void A_live_source_is_one_per_rank_named_with_the_rank_and_one_without_it_is_refused()
    {
        // Each rank its own stream (here FFmpeg's gradients with the rank as seed; a camera or udp://...:500{rank} alike).
        var result = VideoSslProcess.RunMpi(_work.Path, 2, Limit, null, ["train", "--source", "testsrc:gradients:seed={rank}", "--out", _work["live"], "--max-steps", "3", .. SmallAndQuick, "--verbose"]);
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("1 live source(s) (MPI rank 0 of 2)", result.Stderr);
        Assert.Contains("1 live source(s) (MPI rank 1 of 2)", result.Stderr);
        var hashes = StepHashes(result.Stderr);
        for (long step = 1; step <= 3; step++) Assert.Equal(hashes[(0, step)].Hash, hashes[(1, step)].Hash);

        var shared = VideoSslProcess.RunMpi(_work.Path, 2, Limit, null, ["train", "--source", "testsrc", "--out", _work["shared"], "--max-steps", "3", .. SmallAndQuick]);
        Assert.Equal(1, shared.ExitCode);
        Assert.Contains("source 'testsrc': a live source cannot be split into shares; name one for each rank with {rank}", shared.Stderr);
    }

    [Fact]
    public void A_plain_run_never_loads_libmpi()
    {
        string run = _work["plain"];
        using var plain = VideoSslProcess.Start(_work.Path, ["train", "--source", "testsrc", "--out", run, "--max-seconds", "60", .. SmallAndQuick]);
        _ = plain.StandardError.ReadToEndAsync();
        _ = plain.StandardOutput.ReadToEndAsync();
        try
        {
            string metrics = Path.Combine(run, "metrics.jsonl");
            var waited = System.Diagnostics.Stopwatch.StartNew();
            while (!(File.Exists(metrics) && new FileInfo(metrics).Length > 0) && waited.Elapsed < Limit && !plain.HasExited) Thread.Sleep(200);
            Assert.False(plain.HasExited, "the run ended before it could be looked at");
            string maps = File.ReadAllText($"/proc/{plain.Id}/maps");
            Assert.Contains("libtorch", maps);   // it is training, with its native libraries loaded
            Assert.DoesNotContain("libmpi", maps);
        }
        finally
        {
            plain.Kill(entireProcessTree: true);
            plain.WaitForExit();
        }
    }

    [Fact]
    public async Task A_rank_killed_with_sigkill_ends_the_job_within_30_s_leaving_a_loadable_checkpoint_and_nothing_running()
    {
        string folder = TrainingFolder(first: 60, others: 60), run = _work["run"];
        using var job = VideoSslProcess.StartMpi(_work.Path, 2, ["train", "--source", folder, "--out", run, "--max-seconds", "300", "--checkpoint-every", "3", .. SmallAndQuick]);
        var stderr = job.StandardError.ReadToEndAsync();
        _ = job.StandardOutput.ReadToEndAsync();
        string checkpoints = Path.Combine(run, "checkpoints");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!(Directory.Exists(checkpoints) && Directory.GetFiles(checkpoints, "step-*.ckpt").Length > 0) && waited.Elapsed < Limit) Thread.Sleep(200);
        var rank1 = VideoSslProcess.Running(run).Single(p => p.Rank == 1);
        Assert.Contains("libmpi", File.ReadAllText($"/proc/{rank1.Pid}/maps"));   // what the plain-run test looks for is there in a rank
        System.Diagnostics.Process.GetProcessById(rank1.Pid).Kill();   // SIGKILL

        var killed = System.Diagnostics.Stopwatch.StartNew();
        Assert.True(job.WaitForExit(TimeSpan.FromSeconds(30)), "the job still runs 30 s after a rank was killed");
        Assert.NotEqual(0, job.ExitCode);
        Assert.True(killed.Elapsed < TimeSpan.FromSeconds(30));
        Thread.Sleep(500);
        Assert.Empty(VideoSslProcess.Running(run));
        Assert.Empty(VideoSslProcess.LeftoverFfmpeg(_work.Path));

        var embed = VideoSslProcess.Run(_work.Path, "embed", "--checkpoint", run, "--source", Path.Combine(folder, "a.mp4"), "--out", _work["after.npy"], "--device", "cpu");
        Assert.True(embed.ExitCode == 0, embed + "\n--- job\n" + await stderr);
    }

    [Fact]
    public async Task Ctrl_c_on_mpirun_stops_every_rank_at_one_step_and_rank_0_writes_that_steps_checkpoint()
    {
        string folder = TrainingFolder(first: 60, others: 60), run = _work["run"];
        // mpirun waits this long after Ctrl+C before it sends SIGTERM, and as long again before SIGKILL.
        var grace = new Dictionary<string, string?> { ["OMPI_MCA_odls_base_sigkill_timeout"] = "5" };
        using var job = VideoSslProcess.StartMpi(_work.Path, 2, ["train", "--source", folder, "--out", run, "--max-seconds", "300", "--checkpoint-every", "1000", .. SmallAndQuick], grace);
        var stderr = job.StandardError.ReadToEndAsync();
        _ = job.StandardOutput.ReadToEndAsync();
        string metrics = Path.Combine(run, "metrics.jsonl");
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (!(File.Exists(metrics) && File.ReadAllLines(metrics).Length >= 5) && waited.Elapsed < Limit) Thread.Sleep(200);
        VideoSslProcess.Signal(job, "INT");
        Assert.True(job.WaitForExit(TimeSpan.FromSeconds(60)), "the job still runs a minute after Ctrl+C");
        Thread.Sleep(500);
        Assert.Empty(VideoSslProcess.Running(run));

        using var summary = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "summary.json")));
        Assert.True(summary.RootElement.GetProperty("stop-reason").GetString() == "it was interrupted", await stderr);
        long steps = summary.RootElement.GetProperty("steps").GetInt64();
        var written = Directory.GetFiles(Path.Combine(run, "checkpoints"), "step-*.ckpt");
        Assert.Equal([$"step-{steps:00000000}.ckpt"], written.Select(Path.GetFileName));   // one checkpoint, of the step every rank stopped at
    }

    public void Dispose() => _work.Dispose();
}
