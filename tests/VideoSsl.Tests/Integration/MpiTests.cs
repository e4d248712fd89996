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

    public void Dispose() => _work.Dispose();
}
