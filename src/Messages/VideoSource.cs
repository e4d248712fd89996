namespace VideoSsl.Messages;

/// <summary>
/// One source the user pointed at; <see cref="Id"/> is its position in the resolved list, <see cref="Path"/> the
/// file path or, for the other kinds, what the user wrote, and <see cref="Kind"/> the name of the kind of source that
/// opens it (the decoder's registry of kinds finds it by that name).
/// </summary>
public sealed record VideoSource(int Id, string Path, bool FromFolder, string Kind, bool LiveKind, bool Realtime = false)
{
    /// <summary>The kind every file is read as (a folder's files included).</summary>
    public const string FileKind = "file";

    /// <summary>A video file.</summary>
    public VideoSource(int id, string path, bool fromFolder, bool realtime = false) : this(id, path, fromFolder, FileKind, LiveKind: false, realtime) { }

    /// <summary>Read from the file system (a file, or a folder's file), as opposed to a device, a stream or a generator.</summary>
    public bool IsFile => !LiveKind;

    public string Name => IsFile ? System.IO.Path.GetFileName(Path) : Path;

    /// <summary>
    /// Frames arrive at the source's own pace and must never hold it up: its queue drops the oldest frames when
    /// the learner falls behind. Files are live only with <c>--realtime</c>.
    /// </summary>
    public bool Live => LiveKind || Realtime;

    /// <summary>The part of a file that is read, or null for all of it (<see cref="ClipWindow"/>).</summary>
    public ClipWindow? Window { get; init; }
}

/// <summary>
/// A stretch of a file, in seconds of its own time: what is read of it when a run keeps the rest apart (the tail of
/// each training file held out for the online monitor). Frames read from a window are timed from its start.
/// </summary>
public sealed record ClipWindow(double Start, double Length);

/// <summary>A source that was found but cannot be used, and why.</summary>
public sealed record SkippedSource(string Path, string Reason);

/// <summary>What the user's --source values resolved to: the sources, and what was found inside folders but left out.</summary>
public sealed record ResolvedSources(IReadOnlyList<VideoSource> Sources, IReadOnlyList<SkippedSource> Skipped);
