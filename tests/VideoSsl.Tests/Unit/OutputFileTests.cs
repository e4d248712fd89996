using System.Text;
using VideoSsl.Decode;
using VideoSsl.Graph.Outputs;
using VideoSsl.Messages;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Unit;

[Trait("Category", "Unit")]
public class OutputFileTests
{
    /// <summary>Reads an .npy file the way NumPy does: magic, version, header dictionary, then the data.</summary>
    internal static (long Rows, int Columns, float[] Data) ReadNpy(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(0x93, bytes[0]);
        Assert.Equal("NUMPY", Encoding.ASCII.GetString(bytes, 1, 5));
        Assert.Equal(1, bytes[6]);
        int headerLength = bytes[8] | (bytes[9] << 8);
        Assert.Equal(0, (10 + headerLength) % 64);
        string header = Encoding.ASCII.GetString(bytes, 10, headerLength);
        Assert.Contains("'descr': '<f4'", header);
        Assert.Contains("'fortran_order': False", header);
        Assert.EndsWith("\n", header);
        var shape = header[(header.IndexOf("'shape': (", StringComparison.Ordinal) + 10)..];
        var numbers = shape[..shape.IndexOf(')')].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        long rows = long.Parse(numbers[0]);
        int columns = int.Parse(numbers[1]);
        var data = new float[(bytes.Length - 10 - headerLength) / 4];
        Buffer.BlockCopy(bytes, 10 + headerLength, data, 0, data.Length * 4);
        Assert.Equal(rows * columns, data.Length);
        return (rows, columns, data);
    }

    [Fact]
    public void Npy_files_stream_rows_and_record_the_final_shape()
    {
        using var folder = new TempFolder("npy");
        string path = folder["e.npy"];
        using (var writer = new NpyWriter(File.Create(path), columns: 3))
        {
            for (int r = 0; r < 1000; r++) writer.WriteRow([r, r + 0.5f, -r]);
        }
        var (rows, columns, data) = ReadNpy(path);
        Assert.Equal(1000, rows);
        Assert.Equal(3, columns);
        Assert.Equal([999f, 999.5f, -999f], data[^3..]);
    }

    [Fact]
    public void Links_planted_at_the_output_names_are_replaced_never_written_through()
    {
        using var folder = new TempFolder("planted");
        string victim = folder["victim.txt"], other = folder["other.txt"];
        File.WriteAllText(victim, "keep me");
        File.WriteAllText(other, "keep me too");
        File.CreateSymbolicLink(folder["e.npy.partial"], victim);   // what another user could leave in a shared folder
        File.CreateSymbolicLink(folder["e.npy"], other);
        File.CreateSymbolicLink(folder["e.csv.partial"], victim);
        using (var files = new EmbeddingFiles(folder["e.npy"], 2))
        {
            files.Write(new VideoSource(0, "a.mp4", false), 0, 0, [1, 0]);
            files.Complete();
        }
        Assert.Equal("keep me", File.ReadAllText(victim));
        Assert.Equal("keep me too", File.ReadAllText(other));
        Assert.Null(new FileInfo(folder["e.npy"]).LinkTarget);
        Assert.Equal(1, ReadNpy(folder["e.npy"]).Rows);
        Assert.Empty(Directory.GetFileSystemEntries(folder.Path, "*.partial"));
    }

    [Fact]
    public void The_embedding_index_quotes_paths_that_need_it()
    {
        using var folder = new TempFolder("csv");
        using (var files = new EmbeddingFiles(folder["e.npy"], 2))
        {
            files.Write(new VideoSource(0, "a,b \"c\".mp4", false), 7, 0.28, [1, 0]);
            files.Complete();
        }
        var lines = File.ReadAllLines(folder["e.csv"]);
        Assert.Equal("source,frame_index,pts_seconds", lines[0]);
        Assert.Equal("\"a,b \"\"c\"\".mp4\",7,0.28", lines[1]);
    }
}
