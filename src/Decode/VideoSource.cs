using VideoSsl.Engine;

namespace VideoSsl.Decode;

/// <summary>One video the user pointed at; <see cref="Id"/> is its position in the resolved list.</summary>
public sealed record VideoSource(int Id, string Path, bool FromFolder)
{
    public string Name => System.IO.Path.GetFileName(Path);
}

/// <summary>Turns the paths a user gave (files and folders) into the list of videos to read, in a stable order.</summary>
public static class SourceResolver
{
    public static readonly IReadOnlySet<string> VideoExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".wmv", ".flv",
        ".ogv", ".3gp", ".y4m", ".mjpeg",
    };

    /// <summary>
    /// Files are taken as given (whatever their extension); folders contribute every video file below them,
    /// sorted by relative path so that a run is repeatable. A path given twice counts once.
    /// </summary>
    public static IReadOnlyList<VideoSource> Resolve(IEnumerable<string> paths)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<VideoSource>();
        foreach (string given in paths)
        {
            if (string.IsNullOrWhiteSpace(given)) throw new UserError("source '': empty path");
            if (File.Exists(given))
            {
                Add(given, fromFolder: false);
            }
            else if (Directory.Exists(given))
            {
                var files = Directory.EnumerateFiles(given, "*", new EnumerationOptions
                    {
                        RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.Hidden,
                    })
                    .Where(f => VideoExtensions.Contains(System.IO.Path.GetExtension(f)))
                    .OrderBy(f => System.IO.Path.GetRelativePath(given, f), StringComparer.Ordinal)
                    .ToList();
                if (files.Count == 0)
                    throw new UserError($"source '{given}': folder holds no video files ({string.Join(" ", VideoExtensions.Order())})");
                foreach (string f in files) Add(f, fromFolder: true);
            }
            else
            {
                throw new UserError($"source '{given}': no such file or folder");
            }
        }
        if (result.Count == 0) throw new UserError("no source given: pass --source FILE_OR_FOLDER");
        return result;

        void Add(string path, bool fromFolder)
        {
            if (seen.Add(System.IO.Path.GetFullPath(path)))
                result.Add(new VideoSource(result.Count, path, fromFolder));
        }
    }
}
