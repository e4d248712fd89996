using System.Runtime.InteropServices;
using System.Text;

namespace VideoSsl.Graph.Outputs;

/// <summary>
/// Streams a float32 [rows, columns] array to a NumPy .npy file (format 1.0) without holding it in memory: the
/// header is written with room for any row count and rewritten with the real one when the file is closed.
/// </summary>
public sealed class NpyWriter : IDisposable
{
    private const int HeaderBytes = 128;   // magic, version, length and the padded dictionary: a multiple of 64
    private readonly FileStream _file;
    private bool _closed;

    /// <param name="file">A new, empty file opened for writing; the writer owns it.</param>
    public NpyWriter(FileStream file, int columns)
    {
        if (columns < 1) throw new ArgumentOutOfRangeException(nameof(columns));
        Columns = columns;
        _file = file;
        _file.Write(Header(0));
    }

    public int Columns { get; }
    public long Rows { get; private set; }

    public void WriteRow(ReadOnlySpan<float> row)
    {
        if (row.Length != Columns) throw new ArgumentException($"row has {row.Length} values, expected {Columns}");
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("npy output assumes a little-endian machine");
        _file.Write(MemoryMarshal.AsBytes(row));
        Rows++;
    }

    /// <summary>Whole rows, as the little-endian float32 bytes another writer produced (a shard, another rank).</summary>
    public void WriteRows(ReadOnlySpan<byte> rows)
    {
        long rowBytes = 4L * Columns;
        if (rows.Length % rowBytes != 0) throw new ArgumentException($"{rows.Length} bytes are not whole rows of {Columns} float32 values");
        _file.Write(rows);
        Rows += rows.Length / rowBytes;
    }

    private byte[] Header(long rows)
    {
        string dict = $"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {Columns}), }}";
        var header = new byte[HeaderBytes];
        header[0] = 0x93;
        "NUMPY"u8.CopyTo(header.AsSpan(1));
        header[6] = 1;   // major version
        header[7] = 0;
        int dictLength = HeaderBytes - 10;
        header[8] = (byte)dictLength;
        header[9] = (byte)(dictLength >> 8);
        byte[] text = Encoding.ASCII.GetBytes(dict.PadRight(dictLength - 1) + "\n");
        if (text.Length != dictLength) throw new InvalidOperationException("npy header does not fit");
        text.CopyTo(header, 10);
        return header;
    }

    public void Dispose()
    {
        if (_closed) return;
        _closed = true;
        _file.Position = 0;
        _file.Write(Header(Rows));
        _file.Flush(flushToDisk: true);
        _file.Dispose();
    }
}
