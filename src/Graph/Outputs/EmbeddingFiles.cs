using System.Globalization;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Learning;
using VideoSsl.Messages;

namespace VideoSsl.Graph.Outputs;

/// <summary>
/// The output of <c>embed</c>: FILE.npy (float32 [frames, D]) and, beside it, FILE.csv with one row per array row
/// naming the frame: <c>source,frame_index,pts_seconds</c>.
/// </summary>
public sealed class EmbeddingFiles : IEmbeddingSink, IDisposable
{
    private readonly NpyWriter _array;
    private readonly StreamWriter _index;

    public EmbeddingFiles(string npyPath, int dimension)
    {
        NpyPath = npyPath;
        CsvPath = Path.ChangeExtension(npyPath, ".csv");
        OutputFolder.For(npyPath, $"out '{npyPath}'");
        _array = new NpyWriter(npyPath, dimension);
        _index = new StreamWriter(CsvPath, append: false, new System.Text.UTF8Encoding(false));
        _index.WriteLine("source,frame_index,pts_seconds");
    }

    public string NpyPath { get; }
    public string CsvPath { get; }
    public long Rows => _array.Rows;

    public void Write(VideoSource source, long frameIndex, double pts, ReadOnlySpan<float> row)
    {
        _array.WriteRow(row);
        _index.Write(Csv(source.Path));
        _index.Write(',');
        _index.Write(frameIndex.ToString(CultureInfo.InvariantCulture));
        _index.Write(',');
        _index.WriteLine(pts.ToString("0.######", CultureInfo.InvariantCulture));
    }

    /// <summary>RFC 4180 quoting, for paths with commas, quotes or line breaks.</summary>
    public static string Csv(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";

    /// <summary>Closes and deletes both files: a run that failed leaves no output that looks complete.</summary>
    public void Discard()
    {
        Dispose();
        foreach (string path in (string[])[NpyPath, CsvPath])
        {
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    public void Dispose()
    {
        _array.Dispose();
        _index.Dispose();
    }
}
