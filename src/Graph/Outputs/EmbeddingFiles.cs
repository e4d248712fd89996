using System.Globalization;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Learning;
using VideoSsl.Messages;

namespace VideoSsl.Graph.Outputs;

/// <summary>
/// The output of <c>embed</c>: FILE.npy (float32 [frames, D]) and, beside it, FILE.csv with one row per array row
/// naming the frame: <c>source,frame_index,pts_seconds</c>. Both are written under a <c>.partial</c> name and take
/// their own names only in <see cref="Complete"/>: a run that fails, or a process killed on the way (an MPI job a
/// rank aborted), never leaves files that look complete.
/// </summary>
public sealed class EmbeddingFiles : IEmbeddingSink, IDisposable
{
    private const string Partial = ".partial";
    private readonly NpyWriter _array;
    private readonly StreamWriter _index;
    private bool _ended;

    public EmbeddingFiles(string npyPath, int dimension)
    {
        NpyPath = npyPath;
        CsvPath = Path.ChangeExtension(npyPath, ".csv");
        OutputFolder.For(npyPath, $"out '{npyPath}'");
        _array = new NpyWriter(Fresh(npyPath + Partial), dimension);
        try
        {
            _index = new StreamWriter(Fresh(CsvPath + Partial), new System.Text.UTF8Encoding(false));
        }
        catch
        {
            _array.Dispose();
            File.Delete(npyPath + Partial);
            throw;
        }
        _index.WriteLine("source,frame_index,pts_seconds");
    }

    /// <summary>
    /// A file made anew (O_EXCL): what was at the path (a stale partial file, or a link another user planted in a
    /// shared folder) is removed first and never written through; the finished files then replace their names by rename,
    /// which replaces a link rather than following it.
    /// </summary>
    private static FileStream Fresh(string path)
    {
        try
        {
            File.Delete(path);
            return new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"out '{path}': cannot be written ({e.Message})", e);
        }
    }

    public string NpyPath { get; }
    public string CsvPath { get; }
    public long Rows => _array.Rows;

    public void Write(VideoSource source, long frameIndex, double pts, ReadOnlySpan<float> row)
    {
        _array.WriteRow(row);
        _index.Write(IndexLine(source, frameIndex, pts));
    }

    /// <summary>The index row of one frame, with its line break: <c>source,frame_index,pts_seconds</c>.</summary>
    public static string IndexLine(VideoSource source, long frameIndex, double pts) =>
        $"{Csv(source.Path)},{frameIndex.ToString(CultureInfo.InvariantCulture)},{pts.ToString("0.######", CultureInfo.InvariantCulture)}{Environment.NewLine}";

    /// <summary>Rows written elsewhere (another rank's, a shard's): their float32 bytes and their index lines, in order.</summary>
    public void Append(ReadOnlySpan<byte> rows, string indexLines)
    {
        _array.WriteRows(rows);
        _index.Write(indexLines);
    }

    /// <summary>RFC 4180 quoting, for paths with commas, quotes or line breaks.</summary>
    public static string Csv(string field) =>
        field.IndexOfAny([',', '"', '\n', '\r']) < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";

    /// <summary>Closes both files and gives them their names (the index first, so a complete .npy always has its .csv).</summary>
    public void Complete()
    {
        if (_ended) return;
        _ended = true;
        _array.Dispose();
        _index.Dispose();
        File.Move(CsvPath + Partial, CsvPath, overwrite: true);
        File.Move(NpyPath + Partial, NpyPath, overwrite: true);
    }

    /// <summary>Closes and deletes both files: a run that failed leaves no output that looks complete.</summary>
    public void Discard()
    {
        if (_ended) return;
        _ended = true;
        _array.Dispose();
        _index.Dispose();
        foreach (string path in (string[])[NpyPath + Partial, CsvPath + Partial])
        {
            try { File.Delete(path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }

    /// <summary>Without <see cref="Complete"/> first, the same as <see cref="Discard"/>.</summary>
    public void Dispose() => Discard();
}

/// <summary>
/// Embedding rows held in memory, in order, with their index lines: what an MPI rank other than 0 embeds, handed to
/// rank 0 as one message (<see cref="ToMessage"/>) to be written in rank order.
/// </summary>
public sealed class EmbeddingBuffer : IEmbeddingSink
{
    private readonly MemoryStream _rows = new();
    private readonly System.Text.StringBuilder _index = new();

    public long Rows { get; private set; }

    public void Write(VideoSource source, long frameIndex, double pts, ReadOnlySpan<float> row)
    {
        _rows.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(row));
        _index.Append(EmbeddingFiles.IndexLine(source, frameIndex, pts));
        Rows++;
    }

    /// <summary>[row bytes: int64][rows: float32 ...][index lines: UTF-8].</summary>
    public byte[] ToMessage()
    {
        byte[] index = new System.Text.UTF8Encoding(false).GetBytes(_index.ToString());
        var message = new byte[8 + _rows.Length + index.Length];
        BitConverter.TryWriteBytes(message.AsSpan(0, 8), _rows.Length);
        _rows.GetBuffer().AsSpan(0, (int)_rows.Length).CopyTo(message.AsSpan(8));
        index.CopyTo(message.AsSpan(8 + (int)_rows.Length));
        return message;
    }

    /// <summary>Writes a message of <see cref="ToMessage"/> at the end of <paramref name="files"/>.</summary>
    public static void AppendMessage(EmbeddingFiles files, byte[] message)
    {
        long rowBytes = BitConverter.ToInt64(message, 0);
        files.Append(message.AsSpan(8, (int)rowBytes), new System.Text.UTF8Encoding(false).GetString(message, 8 + (int)rowBytes, message.Length - 8 - (int)rowBytes));
    }
}
