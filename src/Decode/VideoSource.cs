namespace VideoSsl.Decode;

public enum SourceKind
{
    /// <summary>A video file (given directly or found in a folder).</summary>
    File,

    /// <summary>A camera: <c>webcam</c> or <c>webcam:DEVICE</c>.</summary>
    Webcam,

    /// <summary>A network stream: rtsp, rtmp(s), srt, udp, rtp, http(s) (HLS included).</summary>
    Stream,

    /// <summary>One of FFmpeg's synthetic sources, paced in real time: <c>testsrc</c> or <c>testsrc:NAME[:OPTIONS]</c>.</summary>
    Synthetic,
}

/// <summary>
/// One source the user pointed at; <see cref="Id"/> is its position in the resolved list, <see cref="Path"/> the
/// file path or, for the other kinds, what the user wrote.
/// </summary>
public sealed record VideoSource(int Id, string Path, bool FromFolder, SourceKind Kind = SourceKind.File, bool Realtime = false)
{
    public string Name => Kind == SourceKind.File ? System.IO.Path.GetFileName(Path) : Path;

    /// <summary>
    /// Frames arrive at the source's own pace and must never hold it up: its queue drops the oldest frames when
    /// the learner falls behind. Files are live only with <c>--realtime</c>.
    /// </summary>
    public bool Live => Kind != SourceKind.File || Realtime;
}

/// <summary>A source that was found but cannot be used, and why.</summary>
public sealed record SkippedSource(string Path, string Reason);

/// <summary>What the user's --source values resolved to: the sources, and what was found inside folders but left out.</summary>
public sealed record ResolvedSources(IReadOnlyList<VideoSource> Sources, IReadOnlyList<SkippedSource> Skipped);
