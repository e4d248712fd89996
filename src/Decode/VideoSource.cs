using VideoSsl.Decode.Sources;

namespace VideoSsl.Decode;

/// <summary>
/// One source the user pointed at; <see cref="Id"/> is its position in the resolved list, <see cref="Path"/> the
/// file path or, for the other kinds, what the user wrote, and <see cref="Kind"/> what opens it.
/// </summary>
public sealed record VideoSource(int Id, string Path, bool FromFolder, SourceKind Kind, bool Realtime = false)
{
    /// <summary>A video file.</summary>
    public VideoSource(int id, string path, bool fromFolder) : this(id, path, fromFolder, SourceKinds.File) { }

    public bool IsFile => Kind is FileSource or FolderSource;

    public string Name => IsFile ? System.IO.Path.GetFileName(Path) : Path;

    /// <summary>
    /// Frames arrive at the source's own pace and must never hold it up: its queue drops the oldest frames when
    /// the learner falls behind. Files are live only with <c>--realtime</c>.
    /// </summary>
    public bool Live => Kind.Live || Realtime;
}

/// <summary>A source that was found but cannot be used, and why.</summary>
public sealed record SkippedSource(string Path, string Reason);

/// <summary>What the user's --source values resolved to: the sources, and what was found inside folders but left out.</summary>
public sealed record ResolvedSources(IReadOnlyList<VideoSource> Sources, IReadOnlyList<SkippedSource> Skipped);
