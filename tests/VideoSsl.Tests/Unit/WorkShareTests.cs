using VideoSsl.Engine;
using VideoSsl.Engine.Distributed;
using VideoSsl.Graph.Outputs;
using VideoSsl.Messages;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Unit;

[Trait("Category", "Unit")]
public class WorkShareTests
{
    [Theory]
    [InlineData(3, 2)]
    [InlineData(10, 3)]
    [InlineData(2, 5)]
    [InlineData(0, 2)]
    public void Shares_are_contiguous_blocks_in_order_that_cover_every_file_once_and_differ_by_at_most_one(int files, int count)
    {
        var blocks = Enumerable.Range(0, count).Select(i => new WorkShare(i, count).Of(files)).ToList();
        var taken = blocks.SelectMany(b => Enumerable.Range(b.Start.Value, b.End.Value - b.Start.Value)).ToList();
        Assert.Equal(Enumerable.Range(0, files), taken);
        var sizes = blocks.Select(b => b.End.Value - b.Start.Value).ToList();
        Assert.True(sizes.Max() - sizes.Min() <= 1, string.Join(",", sizes));
    }

    [Fact]
    public void A_shard_is_read_as_i_of_n_or_from_a_job_array_index_and_anything_else_is_one_line()
    {
        Assert.Equal(new WorkShare(2, 4), WorkShare.Parse("2/4", _ => null));
        var kubernetes = new Dictionary<string, string> { ["JOB_COMPLETION_INDEX"] = "3" };
        Assert.Equal(new WorkShare(3, 4), WorkShare.Parse("auto/4", kubernetes.GetValueOrDefault));
        var slurm = new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "12", ["SLURM_ARRAY_TASK_MIN"] = "10" };
        Assert.Equal(new WorkShare(2, 4), WorkShare.Parse("auto/4", slurm.GetValueOrDefault));

        Assert.Contains("the index must be from 0 to 3 (got 4)", Assert.Throws<UserError>(() => WorkShare.Parse("4/4", _ => null)).Message);
        Assert.Contains("no job-array index", Assert.Throws<UserError>(() => WorkShare.Parse("auto/4", _ => null)).Message);
        Assert.Contains("the index must be from 0 to 3 (got 7)", Assert.Throws<UserError>(() => WorkShare.Parse("auto/4", new Dictionary<string, string> { ["SLURM_ARRAY_TASK_ID"] = "7" }.GetValueOrDefault)).Message);
        foreach (string bad in new[] { "1", "1/0", "-1/2", "a/2", "1/2/3", "" })
            Assert.Equal(UserError.BadCommandLine, Assert.Throws<UserError>(() => WorkShare.Parse(bad, _ => null)).ExitCode);
    }

    private static void Shard(string npy, int dimension, params float[][] rows)
    {
        using var files = new EmbeddingFiles(npy, dimension);
        for (int r = 0; r < rows.Length; r++) files.Write(new VideoSource(0, $"clip{r}.mp4", false), r, r * 0.5, rows[r]);
        files.Complete();
    }

    [Fact]
    public void Merge_joins_shards_in_index_order_and_refuses_a_damaged_or_foreign_one()
    {
        using var folder = new TempFolder("merge");
        Shard(folder["e.shard-0-of-2.npy"], 2, [1, 2], [3, 4]);
        Shard(folder["e.shard-1-of-2.npy"], 2, [5, 6]);
        var (rows, dimension) = EmbeddingShards.Merge([folder["e.shard-1-of-2.npy"], folder["e.shard-0-of-2.npy"]], folder["e.npy"]);
        Assert.Equal((3L, 2), (rows, dimension));
        var (_, _, data) = OutputFileTests.ReadNpy(folder["e.npy"]);
        Assert.Equal([1f, 2, 3, 4, 5, 6], data);
        Assert.Equal(["source,frame_index,pts_seconds", "clip0.mp4,0,0", "clip1.mp4,1,0.5", "clip0.mp4,0,0"], File.ReadAllLines(folder["e.csv"]));

        Shard(folder["f.shard-0-of-3.npy"], 2, [1, 2]);
        Assert.Contains("of a split into 3, the others into 2", Assert.Throws<UserError>(() =>
            EmbeddingShards.Merge([folder["e.shard-0-of-2.npy"], folder["e.shard-1-of-2.npy"], folder["f.shard-0-of-3.npy"]], folder["g.npy"])).Message);
        Shard(folder["h.shard-1-of-2.npy"], 3, [1, 2, 3]);
        Assert.Contains("3-d rows, the first shard's are 2-d", Assert.Throws<UserError>(() =>
            EmbeddingShards.Merge([folder["e.shard-0-of-2.npy"], folder["h.shard-1-of-2.npy"]], folder["g.npy"])).Message);

        // A shard cut short (a worker killed while writing, a copy that stopped): its length no longer fits its header.
        byte[] whole = File.ReadAllBytes(folder["e.shard-1-of-2.npy"]);
        File.WriteAllBytes(folder["cut.shard-1-of-2.npy"], whole[..^4]);
        File.Copy(folder["e.shard-1-of-2.csv"], folder["cut.shard-1-of-2.csv"]);
        Assert.Contains("damaged or unfinished", Assert.Throws<UserError>(() =>
            EmbeddingShards.Merge([folder["e.shard-0-of-2.npy"], folder["cut.shard-1-of-2.npy"]], folder["g.npy"])).Message);
        Assert.Contains("not a shard's name", Assert.Throws<UserError>(() => EmbeddingShards.Merge([folder["e.npy"]], folder["g.npy"])).Message);
        Assert.False(File.Exists(folder["g.npy"]));
        Assert.Empty(Directory.GetFiles(folder.Path, "*.partial"));
    }
}
