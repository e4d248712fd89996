using System.Globalization;
using VideoSsl.Decode.Sources;
using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Decode;

/// <summary>The input half of an FFmpeg command: what follows -i, and the input options before it.</summary>
public sealed record InputPlan(string Input, string Options);

/// <summary>
/// The FFmpeg input of a source: its kind's plan (<see cref="Sources.SourceKind.Plan"/>: the protocols, formats and
/// timeouts that kind may use) plus the run's FFmpeg threading. Inputs come from anywhere and FFmpeg parses them, so
/// every input may use only the protocols its kind needs (<c>-protocol_whitelist</c>): a file reads only files, a
/// network playlist only the network, never <c>file:</c> paths. Paths are handed over literally (never through a
/// shell, never read as an option), and network reads time out instead of blocking forever.
/// </summary>
public static class FfmpegInputs
{
    public static InputPlan For(VideoSource source, DecodeSettings settings, double rate)
    {
        var plan = SourceKinds.Of(source).Plan(source, settings, rate);
        return plan with { Options = string.Join(' ', [plan.Options, .. ThreadOptions(settings)]) };
    }

    /// <summary>FFmpeg's decoding and filtering threads per process (see <see cref="DecodeSettings.FfmpegThreads"/>); none when FFmpeg chooses.</summary>
    public static string[] ThreadOptions(DecodeSettings settings)
    {
        if (settings.FfmpegThreads == 0) return [];
        string threads = settings.FfmpegThreads.ToString(CultureInfo.InvariantCulture);
        return ["-threads", threads, "-filter_threads", threads, "-filter_complex_threads", threads];
    }

    /// <summary>The frame rate a source is decoded at.</summary>
    public static double Rate(VideoSource source, VideoInfo? info, DecodeSettings settings) => SourceKinds.Of(source).Rate(source, info, settings);
}

/// <summary>
/// How FFmpeg and FFprobe may read a local file: through the file protocol alone, and only with demuxers that open
/// no further inputs. Without the second rule a downloaded <c>video.ts</c> whose content is an HLS playlist (or an
/// ffconcat list) makes FFmpeg read whatever local files it lists. A playlist the user names as one (.m3u8) may use
/// the HLS demuxer, after <see cref="LocalPlaylist.Check"/> has made sure it lists only files under its folder.
/// </summary>
public static class LocalFiles
{
    /// <summary>Demuxers of video containers and streams: none of them opens another input.</summary>
    public static readonly IReadOnlyList<string> Demuxers =
    [
        "mov", "mp4", "matroska", "webm", "avi", "flv", "live_flv", "mpegts", "mpegtsraw", "mpeg", "mpegvideo", "m4v", "asf", "ogg",
        "nut", "mxf", "dv", "gxf", "lxf", "wtv", "rm", "nsv", "ivf", "obu", "h261", "h263", "h264", "hevc", "vc1", "vc1test", "dirac",
        "dnxhd", "cavsvideo", "avs2", "avs3", "mjpeg", "mjpeg_2000", "mpjpeg", "smjpeg", "yuv4mpegpipe", "rawvideo", "gif", "apng",
        "webp_pipe", "swf", "bink", "smk", "flic", "roq", "thp", "r3d", "cine", "film_cpk", "idcin", "ipmovie", "mtv", "mv", "nuv",
        "pmp", "pva", "vivo", "vmd", "wc3movie", "wsvqa", "xmv", "ty", "dhav", "ser", "kux", "argo_brp", "ipu", "mgsts", "vividas",
    ];

    public static string InputOptions(string path) => LocalPlaylist.IsPlaylistName(path)
        ? $"-protocol_whitelist file,crypto -format_whitelist hls,{string.Join(',', Demuxers)}"
        : $"-protocol_whitelist file -format_whitelist {string.Join(',', Demuxers)}";
}

/// <summary>
/// File paths as FFmpeg and FFprobe must receive them: absolute (a name starting with '-' is never read as an
/// option) and free of what FFMpegCore's quoting cannot carry (a double quote, a trailing backslash). Such a file
/// gets a symbolic link with a plain name in a private temporary folder instead.
/// </summary>
public static class LiteralPaths
{
    private static readonly Lock Gate = new();
    private static readonly Dictionary<string, string> Aliases = new(StringComparer.Ordinal);
    private static string? _folder;

    public static string For(string path)
    {
        string full = Path.GetFullPath(path);
        if (!full.Contains('"') && !full.EndsWith('\\')) return full;
        lock (Gate)
        {
            if (Aliases.TryGetValue(full, out string? alias)) return alias;
            if (_folder is null)
            {
                _folder = Directory.CreateTempSubdirectory("videossl-inputs-").FullName;
                AppDomain.CurrentDomain.ProcessExit += (_, _) => { try { Directory.Delete(_folder, true); } catch (IOException) { } };
            }
            alias = Path.Combine(_folder, $"{Aliases.Count}{Path.GetExtension(full).Replace("\"", "").TrimEnd('\\')}");
            File.CreateSymbolicLink(alias, full);
            Aliases[full] = alias;
            return alias;
        }
    }
}
