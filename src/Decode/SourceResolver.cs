using VideoSsl.Engine;

namespace VideoSsl.Decode;

/// <summary>Turns what a user wrote after --source (paths, folders, webcams, URLs, testsrc) into sources, in a stable order.</summary>
public static class SourceResolver
{
    public static readonly IReadOnlySet<string> VideoExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".wmv", ".flv",
        ".ogv", ".3gp", ".y4m", ".mjpeg",
    };

    /// <summary>URL schemes read as network streams.</summary>
    public static readonly IReadOnlySet<string> StreamSchemes = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "rtsp", "rtsps", "rtmp", "rtmps", "srt", "udp", "rtp", "http", "https",
    };

    /// <summary>
    /// Files are taken as given (whatever their extension); folders contribute every video file below them,
    /// sorted by relative path so that a run is repeatable (see <see cref="FolderWalk"/>). A file reached twice, by
    /// any path or link, counts once. <paramref name="realtime"/> makes file sources live (paced at their own frame
    /// rate, dropping frames the learner cannot take).
    /// </summary>
    public static ResolvedSources Resolve(IEnumerable<string> specs, bool realtime = false, CancellationToken cancel = default)
    {
        var seenLive = new HashSet<string>(StringComparer.Ordinal);
        var seenFiles = new HashSet<object>();
        var result = new List<VideoSource>();
        var skipped = new List<SkippedSource>();
        foreach (string given in specs)
        {
            cancel.ThrowIfCancellationRequested();
            if (string.IsNullOrWhiteSpace(given)) throw new UserError("source '': empty path");
            if (TryLive(given) is { } kind)
            {
                Validate(given, kind);
                if (seenLive.Add(given)) result.Add(new VideoSource(result.Count, given, false, kind));
            }
            else if (Directory.Exists(given))
            {
                var walk = FolderWalk.VideoFiles(given, VideoExtensions, cancel);
                skipped.AddRange(walk.Skipped);
                if (walk.Files.Count == 0)
                    throw new UserError(walk.Skipped.Count > 0
                        ? $"source '{given}': folder holds no readable video files ({walk.Skipped.Count} skipped, first: {walk.Skipped[0].Reason})"
                        : $"source '{given}': folder holds no video files ({string.Join(" ", VideoExtensions.Order())})");
                foreach (var file in walk.Files)
                    if (seenFiles.Add(file.Identity)) result.Add(new VideoSource(result.Count, file.Path, true, SourceKind.File, realtime));
            }
            else if (File.Exists(given))
            {
                CheckNamedFile(given);
                if (LocalPlaylist.IsPlaylistName(given)) LocalPlaylist.Check(given);
                if (seenFiles.Add(FolderWalk.IdentityOf(given)))
                    result.Add(new VideoSource(result.Count, given, false, SourceKind.File, realtime));
            }
            else if (given.Contains('\uFFFD'))
            {
                // .NET reads a name's bytes as UTF-8; bytes that are not UTF-8 cannot be handed back to the file system.
                throw new UserError($"source '{given}': the name is not valid UTF-8, so it cannot be opened; rename the file or folder");
            }
            else
            {
                throw new UserError($"source '{given}': no such file or folder");
            }
        }
        if (result.Count == 0) throw new UserError("no source given: pass --source FILE_OR_FOLDER");
        return new ResolvedSources(result, skipped);
    }

    /// <summary>A file named on the command line must be a regular file: a FIFO or a device would block FFprobe or never end.</summary>
    private static void CheckNamedFile(string path)
    {
        if (FileStatus.Of(path) is not { } status || status.Kind == FileKind.Regular) return;
        string hint = status.Kind == FileKind.CharacterDevice && path.StartsWith("/dev/video", StringComparison.Ordinal) ? $"; for a camera use --source webcam:{path}" : "";
        throw new UserError($"source '{path}': not a regular file ({FileStatus.Describe(status.Kind)}){hint}");
    }

    /// <summary>The camera spec's device part: "" for the default camera.</summary>
    public static string CameraDevice(string spec) => spec == "webcam" ? "" : spec["webcam:".Length..];

    private static SourceKind? TryLive(string spec)
    {
        if (spec == "webcam" || spec.StartsWith("webcam:", StringComparison.Ordinal)) return SourceKind.Webcam;
        if (spec == "testsrc" || spec.StartsWith("testsrc:", StringComparison.Ordinal)) return SourceKind.Synthetic;
        int colon = spec.IndexOf("://", StringComparison.Ordinal);
        if (colon > 0 && StreamSchemes.Contains(spec[..colon])) return SourceKind.Stream;
        if (colon > 0 && !File.Exists(spec))
            throw new UserError($"source '{spec}': scheme '{spec[..colon]}' is not supported (use {string.Join(", ", StreamSchemes.Order())}, webcam or testsrc)");
        return null;
    }

    private static void Validate(string spec, SourceKind kind)
    {
        if (kind == SourceKind.Synthetic) _ = SyntheticSources.Graph(spec, 16, 16, 1);
        if (kind == SourceKind.Stream && !Uri.TryCreate(spec, UriKind.Absolute, out _))
            throw new UserError($"source '{spec}': not a valid URL");
    }
}
