using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Decode;

/// <summary>A video file found in a folder: the path it was reached by, and the file's identity.</summary>
public sealed record FoundFile(string Path, string Relative, object Identity);

/// <summary>
/// Finds the video files under a folder. Folders come from anywhere and may hold links in any direction, loops
/// included (<c>self -&gt; .</c>, <c>sub/up -&gt; ..</c>), so the walk goes by identity rather than by name: every
/// folder and every file is visited once (device and inode on Linux; the fully resolved path elsewhere), however many
/// links lead to it, no deeper than <see cref="MaxDepth"/> folders, and the walk can be cancelled between entries.
/// Entries that cannot be used (not regular files, names that are not valid UTF-8, broken links) are skipped and
/// reported; hidden entries (names starting with a dot) are left out.
/// </summary>
public static class FolderWalk
{
    public const int MaxDepth = 64;

    public sealed record Result(IReadOnlyList<FoundFile> Files, IReadOnlyList<SkippedSource> Skipped);

    public static Result VideoFiles(string root, IReadOnlySet<string> extensions, CancellationToken cancel)
    {
        var folders = new HashSet<object> { IdentityOf(root) };
        var found = new List<FoundFile>();
        var skipped = new List<SkippedSource>();
        var pending = new Stack<(string Path, string Relative, int Depth)>();
        pending.Push((root, "", 0));
        var options = new EnumerationOptions { IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden, RecurseSubdirectories = false };
        while (pending.Count > 0)
        {
            var (folder, relative, depth) = pending.Pop();
            List<FileSystemInfo> entries;
            try
            {
                entries = new DirectoryInfo(folder).EnumerateFileSystemInfos("*", options).OrderBy(e => e.Name, StringComparer.Ordinal).ToList();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                if (depth == 0) throw new UserError($"source '{root}': the folder cannot be read ({e.Message})");
                skipped.Add(new SkippedSource(folder, $"folder '{folder}': cannot be read ({e.Message})"));
                continue;
            }
            var subfolders = new List<(string, string, int)>();
            foreach (var entry in entries)
            {
                cancel.ThrowIfCancellationRequested();
                string path = entry.FullName;
                string name = relative.Length == 0 ? entry.Name : relative + "/" + entry.Name;
                var status = FileStatus.Of(path);
                bool isFolder = status is { } s ? s.Kind == FileKind.Directory : Directory.Exists(path);
                if (isFolder)
                {
                    if (entry.Name.Contains('\uFFFD')) skipped.Add(new SkippedSource(path, $"folder '{path}': the name is not valid UTF-8, so it cannot be opened"));
                    else if (depth + 1 > MaxDepth) skipped.Add(new SkippedSource(path, $"folder '{path}': more than {MaxDepth} folders deep; not searched"));
                    else if (folders.Add(IdentityOf(status, path))) subfolders.Add((path, name, depth + 1));
                    continue;
                }
                if (!extensions.Contains(Path.GetExtension(entry.Name))) continue;
                if (entry.Name.Contains('\uFFFD'))
                    skipped.Add(new SkippedSource(path, $"source '{path}': the name is not valid UTF-8, so it cannot be opened; rename it"));
                else if (OperatingSystem.IsLinux() ? status is null : !File.Exists(path))
                    skipped.Add(new SkippedSource(path, $"source '{path}': a link to nothing"));
                else if (status is { Kind: not FileKind.Regular } other)
                    skipped.Add(new SkippedSource(path, $"source '{path}': not a regular file ({FileStatus.Describe(other.Kind)})"));
                else
                    found.Add(new FoundFile(path, name, IdentityOf(status, path)));
            }
            // Depth first, subfolders in name order.
            for (int i = subfolders.Count - 1; i >= 0; i--) pending.Push(subfolders[i]);
        }
        var identities = new HashSet<object>();
        var files = found.OrderBy(f => f.Relative, StringComparer.Ordinal).Where(f => identities.Add(f.Identity)).ToList();
        return new Result(files, skipped);
    }

    /// <summary>What makes two paths the same file or folder: device and inode where the system says, else the fully resolved path.</summary>
    public static object IdentityOf(string path) => IdentityOf(FileStatus.Of(path), path);

    /// <summary>The same from a status already read (the walk reads each entry's once).</summary>
    private static object IdentityOf(FileStatus? status, string path) =>
        status is { } known ? (known.Device, known.Inode) : Platform.RealPath(path);
}
