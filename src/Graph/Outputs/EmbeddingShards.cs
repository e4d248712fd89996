using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using VideoSsl.Engine;
using VideoSsl.Engine.Distributed;

namespace VideoSsl.Graph.Outputs;

/// <summary>
/// The shards of one embedding (<c>embed --shard I/N</c>, one per job-array worker) and their merge: shard I of N of
/// FILE.npy is FILE.shard-I-of-N.npy with its .csv; the merge joins all N in index order into FILE.npy and FILE.csv,
/// byte for byte what one process writes.
/// </summary>
public static partial class EmbeddingShards
{
    public static string PathFor(string npyPath, WorkShare share) =>
        Path.ChangeExtension(npyPath, null) + $".shard-{share.Index}-of-{share.Count}.npy";

    [GeneratedRegex(@"^(?<stem>.+)\.shard-(?<index>\d{1,9})-of-(?<count>\d{1,9})\.npy$", RegexOptions.IgnoreCase)]
    private static partial Regex ShardName();

    /// <summary>Joins every shard of one split (each named once) into <paramref name="npyPath"/>; returns the rows and the dimension.</summary>
    public static (long Rows, int Dimension) Merge(IReadOnlyList<string> shards, string npyPath)
    {
        if (shards.Count == 0) throw UserError.CommandLine("name the shards (FILE.shard-I-of-N.npy)");
        if (!npyPath.EndsWith(".npy", StringComparison.OrdinalIgnoreCase)) throw UserError.CommandLine($"out '{npyPath}': the embeddings file must end in .npy");
        var named = shards.Select(path =>
        {
            var match = ShardName().Match(Path.GetFileName(path));
            if (!match.Success) throw new UserError($"shard '{path}': not a shard's name (FILE.shard-I-of-N.npy, as embed --shard writes)");
            return (Path: path, Index: int.Parse(match.Groups["index"].Value, CultureInfo.InvariantCulture), Count: int.Parse(match.Groups["count"].Value, CultureInfo.InvariantCulture));
        }).OrderBy(s => s.Index).ToList();
        int count = named[0].Count;
        if (named.FirstOrDefault(s => s.Count != count) is { Path: not null } other)
            throw new UserError($"shard '{other.Path}': of a split into {other.Count}, the others into {count}");
        var missing = Enumerable.Range(0, count).Except(named.Select(s => s.Index)).ToList();
        if (missing.Count > 0) throw new UserError($"shard{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)} of {count} missing (have {string.Join(", ", named.Select(s => s.Index))})");
        if (named.GroupBy(s => s.Index).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw new UserError($"shard {twice.Key} of {count} named twice ('{string.Join("', '", twice.Select(s => s.Path))}')");
        if (named.Any(s => Path.GetFullPath(s.Path) == Path.GetFullPath(npyPath))) throw UserError.CommandLine($"out '{npyPath}': is one of the shards");

        var arrays = named.Select(s => (s.Path, Header: NpyHeader.Read(s.Path))).ToList();
        int dimension = arrays[0].Header.Columns;
        if (arrays.FirstOrDefault(a => a.Header.Columns != dimension) is { Path: not null } odd)
            throw new UserError($"shard '{odd.Path}': {odd.Header.Columns}-d rows, the first shard's are {dimension}-d: not one embedding");
        var files = new EmbeddingFiles(npyPath, dimension);
        try
        {
            foreach (var (path, header) in arrays)
            {
                string csv = Path.ChangeExtension(path, ".csv");
                string index = File.Exists(csv) ? File.ReadAllText(csv, Encoding.UTF8) : throw new UserError($"shard '{path}': its index '{csv}' is missing");
                int firstBreak = index.IndexOf('\n');
                string lines = firstBreak < 0 ? "" : index[(firstBreak + 1)..];
                long lineCount = lines.Count(c => c == '\n');
                if (firstBreak < 0 || !index.StartsWith("source,frame_index,pts_seconds", StringComparison.Ordinal) || lineCount != header.Rows)
                    throw new UserError($"shard '{path}': its index '{csv}' has {lineCount} rows for {header.Rows} embedding rows (or no header): a damaged or unfinished shard");
                using var array = File.OpenRead(path);
                array.Position = header.DataOffset;
                int rowBytes = 4 * dimension, chunk = Math.Max(1, (1 << 20) / rowBytes) * rowBytes;
                var buffer = new byte[chunk];
                long left = header.Rows * rowBytes;
                while (left > 0)
                {
                    int want = (int)Math.Min(chunk, left);
                    array.ReadExactly(buffer, 0, want);
                    files.Append(buffer.AsSpan(0, want), "");
                    left -= want;
                }
                files.Append([], lines);
            }
        }
        catch
        {
            files.Discard();
            throw;
        }
        files.Complete();
        return (files.Rows, dimension);
    }
}

/// <summary>The header of a float32, C-order, two-dimensional .npy file (format 1.0 or 2.0), checked against the file's length.</summary>
public sealed partial record NpyHeader(long Rows, int Columns, long DataOffset)
{
    [GeneratedRegex(@"^\{'descr': '<f4', 'fortran_order': False, 'shape': \((?<rows>\d{1,12}), (?<columns>\d{1,9})\), \}\s*$")]
    private static partial Regex Dictionary();

    public static NpyHeader Read(string path)
    {
        using var file = File.Exists(path) ? File.OpenRead(path) : throw new UserError($"shard '{path}': no such file");
        var start = new byte[12];
        if (file.Read(start, 0, 12) < 10 || start[0] != 0x93 || Encoding.ASCII.GetString(start, 1, 5) != "NUMPY" || start[6] is not (1 or 2))
            throw new UserError($"shard '{path}': not a .npy file of format 1 or 2");
        bool two = start[6] == 2;
        long length = two ? BitConverter.ToUInt32(start, 8) : BitConverter.ToUInt16(start, 8);
        long offset = (two ? 12 : 10) + length;
        if (length > 4096 || offset > file.Length) throw new UserError($"shard '{path}': its .npy header is damaged");
        var text = new byte[length];
        file.Position = offset - length;
        file.ReadExactly(text);
        var match = Dictionary().Match(Encoding.ASCII.GetString(text));
        if (!match.Success) throw new UserError($"shard '{path}': not a float32 [rows, columns] array in C order, as embed writes");
        long rows = long.Parse(match.Groups["rows"].Value, CultureInfo.InvariantCulture);
        int columns = int.Parse(match.Groups["columns"].Value, CultureInfo.InvariantCulture);
        if (columns < 1 || rows > (file.Length - offset) / 4 / columns || file.Length != offset + rows * columns * 4L)
            throw new UserError($"shard '{path}': {file.Length} bytes where a [{rows}, {columns}] array takes {offset + rows * columns * 4L}: damaged or unfinished");
        return new NpyHeader(rows, columns, offset);
    }
}
