using VideoSsl.Tests.Support;
using VideoSsl.Tests.Unit;

namespace VideoSsl.Tests.Integration;

[Trait("Category", "Integration")]
public class EmbedCommandTests(ClipSet clips) : IClassFixture<ClipSet>, IDisposable
{
    private readonly TempFolder _work = new("embed");

    private string Trained()
    {
        string run = _work["run"];
        var result = VideoSslProcess.Run(_work.Path, "train", "--backbone", "small", "--source", clips.Pair, "--out", run, "--max-steps", "4",
            "--device", "cpu", "--size", "48", "--batch", "8", "--neg-gap", "1");
        Assert.True(result.ExitCode == 0, result.ToString());
        return run;
    }

    [Fact]
    public void Embed_writes_one_unit_length_row_per_decoded_frame_and_a_matching_index()
    {
        string run = Trained();
        var result = VideoSslProcess.Run(_work.Path, "embed", "--checkpoint", run, "--source", clips.TestSrc, "--out", _work["e.npy"], "--device", "cpu");
        Assert.True(result.ExitCode == 0, result.ToString());

        var (rows, columns, data) = OutputFileTests.ReadNpy(_work["e.npy"]);
        Assert.Equal(Clips.CountFrames(clips.TestSrc), rows);
        Assert.Equal(32 + 64 + 128 + 256, columns);   // every block's pooled features
        for (long r = 0; r < rows; r += 37)
        {
            double norm = Math.Sqrt(data.AsSpan((int)(r * columns), columns).ToArray().Sum(v => (double)v * v));
            Assert.Equal(1.0, norm, 4);
        }
        var index = File.ReadAllLines(_work["e.csv"]);
        Assert.Equal("source,frame_index,pts_seconds", index[0]);
        Assert.Equal(rows, index.Length - 1);
        Assert.Equal($"{clips.TestSrc},0,0", index[1]);
        Assert.Equal($"{clips.TestSrc},25,1", index[26]);
    }

    [Fact]
    public void Embed_with_fps_resamples_and_reports_the_resampled_times()
    {
        string run = Trained();
        var result = VideoSslProcess.Run(_work.Path, "embed", "--checkpoint", run, "--source", clips.Pair, "--out", _work["e.npy"], "--fps", "2", "--device", "cpu");
        Assert.True(result.ExitCode == 0, result.ToString());
        var (rows, _, _) = OutputFileTests.ReadNpy(_work["e.npy"]);
        Assert.Equal(80, rows);   // two 20 s clips at 2 frames/s
        var index = File.ReadAllLines(_work["e.csv"]);
        Assert.EndsWith(",1,0.5", index[2]);
        Assert.Equal(2, index.Skip(1).Select(l => l.Split(',')[0]).Distinct().Count());
    }

    public void Dispose() => _work.Dispose();
}
