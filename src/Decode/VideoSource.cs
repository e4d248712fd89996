using System.Text.RegularExpressions;
using VideoSsl.Engine;

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

/// <summary>Turns what a user wrote after --source (paths, folders, webcams, URLs, testsrc) into sources, in a stable order.</summary>
public static partial class SourceResolver
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
    /// sorted by relative path so that a run is repeatable. A path given twice counts once. <paramref name="realtime"/>
    /// makes file sources live (paced at their own frame rate, dropping frames the learner cannot take).
    /// </summary>
    public static IReadOnlyList<VideoSource> Resolve(IEnumerable<string> specs, bool realtime = false)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<VideoSource>();
        foreach (string given in specs)
        {
            if (string.IsNullOrWhiteSpace(given)) throw new UserError("source '': empty path");
            if (TryLive(given) is { } kind)
            {
                Validate(given, kind);
                if (seen.Add(given)) result.Add(new VideoSource(result.Count, given, false, kind));
            }
            else if (File.Exists(given))
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
                result.Add(new VideoSource(result.Count, path, fromFolder, SourceKind.File, realtime));
        }
    }

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
        if (kind == SourceKind.Synthetic) _ = SyntheticGraph(spec, 16, 16, 1);
        if (kind == SourceKind.Stream && !Uri.TryCreate(spec, UriKind.Absolute, out _))
            throw new UserError($"source '{spec}': not a valid URL");
    }

    /// <summary>Synthetic sources FFmpeg can make without reading anything.</summary>
    public static readonly IReadOnlySet<string> SyntheticSources = new HashSet<string>(StringComparer.Ordinal)
    {
        "testsrc", "testsrc2", "mandelbrot", "life", "cellauto", "smptebars", "smptehdbars", "rgbtestsrc", "yuvtestsrc",
        "colorspectrum", "gradients", "allrgb", "allyuv", "pal75bars", "pal100bars",
    };

    /// <summary>
    /// The lavfi graph for <c>testsrc[:NAME[:OPTIONS]]</c>. Only plain source names and simple key=value options
    /// are accepted: a filter graph could otherwise read files (the movie filter) or run anything else.
    /// </summary>
    public static string SyntheticGraph(string spec, int width, int height, double rate)
    {
        string rest = spec.Length > "testsrc".Length ? spec["testsrc:".Length..] : "testsrc2";
        int split = rest.IndexOf(':');
        string name = split < 0 ? rest : rest[..split];
        string options = split < 0 ? "" : rest[(split + 1)..];
        if (!SyntheticSources.Contains(name))
            throw new UserError($"source '{spec}': '{name}' is not a synthetic source ({string.Join(", ", SyntheticSources.Order())})");
        if (options.Length > 0 && !SafeOptions().IsMatch(options))
            throw new UserError($"source '{spec}': options must be key=value pairs separated by ':' (letters, digits, . # -)");
        string rateText = rate.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);
        string sized = options.Contains("size=") || options.Contains("s=") ? options : $"size={width}x{height}" + (options.Length > 0 ? ":" + options : "");
        return $"{name}=rate={rateText}:{sized}";
    }

    [GeneratedRegex(@"^[A-Za-z_]+=[A-Za-z0-9.#_-]+(:[A-Za-z_]+=[A-Za-z0-9.#_-]+)*$")]
    private static partial Regex SafeOptions();
}
