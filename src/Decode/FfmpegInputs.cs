using System.Globalization;
using VideoSsl.Engine;

namespace VideoSsl.Decode;

/// <summary>The input half of an FFmpeg command: what follows -i, and the input options before it.</summary>
public sealed record InputPlan(string Input, string Options);

/// <summary>
/// How each kind of source is opened. Inputs come from anywhere and FFmpeg parses them, so every input may use
/// only the protocols its kind needs (<c>-protocol_whitelist</c>): a file reads only files, a network playlist
/// only the network, never <c>file:</c> paths. Paths are handed over literally (never through a shell, never
/// read as an option), and network reads time out instead of blocking forever.
/// </summary>
public static class FfmpegInputs
{
    public static InputPlan For(VideoSource source, DecodeSettings settings, double rate)
    {
        var plan = Open(source, settings, rate);
        return plan with { Options = string.Join(' ', [plan.Options, .. ThreadOptions(settings)]) };
    }

    /// <summary>FFmpeg's decoding and filtering threads per process (see <see cref="DecodeSettings.FfmpegThreads"/>); none when FFmpeg chooses.</summary>
    public static string[] ThreadOptions(DecodeSettings settings)
    {
        if (settings.FfmpegThreads == 0) return [];
        string threads = settings.FfmpegThreads.ToString(CultureInfo.InvariantCulture);
        return ["-threads", threads, "-filter_threads", threads, "-filter_complex_threads", threads];
    }

    private static InputPlan Open(VideoSource source, DecodeSettings settings, double rate)
    {
        string micro(double seconds) => ((long)(seconds * 1_000_000)).ToString(CultureInfo.InvariantCulture);
        string timeout = micro(settings.ReadTimeoutSeconds);
        const string lowDelay = "-fflags nobuffer -flags low_delay";
        switch (source.Kind)
        {
            case SourceKind.File:
                return new InputPlan("file:" + LiteralPaths.For(source.Path), LocalFiles.InputOptions(source.Path) + (source.Realtime ? " -re" : ""));
            case SourceKind.Synthetic:
            {
                int side = Math.Max(settings.Size * 4, 256);
                return new InputPlan(SyntheticSources.Graph(source.Path, side, side * 9 / 16 / 2 * 2, rate), "-re -f lavfi");
            }
            case SourceKind.Webcam:
            {
                var (w, h) = settings.CameraDimensions;
                string capture = $"-framerate {settings.CameraFps.ToString("0.###", CultureInfo.InvariantCulture)} -video_size {w}x{h}";
                string device = SourceResolver.CameraDevice(source.Path);
                if (device.Length == 0 && OperatingSystem.IsWindows())
                    throw new UserError($"source '{source.Path}': on Windows, name the camera as webcam:NAME ('videossl devices' lists them)");
                return new InputPlan(Platform.CameraInput(device), $"-f {Platform.CameraFormat} {capture}");
            }
            default:
            {
                string scheme = source.Path[..source.Path.IndexOf("://", StringComparison.Ordinal)].ToLowerInvariant();
                string options = scheme switch
                {
                    // MPEG-TS over UDP: probing only the first packet starts frames flowing in about 0.3 s instead of seconds.
                    "udp" => $"-protocol_whitelist udp -timeout {timeout} -f mpegts -probesize 32 -analyzeduration 0",
                    "rtp" => $"-protocol_whitelist rtp,udp -timeout {timeout}",
                    "rtsp" or "rtsps" => $"-protocol_whitelist rtsp,rtsps,rtp,udp,tcp,tls,srtp -rtsp_transport tcp -timeout {timeout}",
                    "rtmp" or "rtmps" => $"-protocol_whitelist rtmp,rtmps,tcp,tls -rw_timeout {timeout}",
                    "srt" => $"-protocol_whitelist srt,udp -rw_timeout {timeout}",
                    // http(s), HLS included: -re paces a recorded (VOD) playlist or file like a live one; no low-delay
                    // flags here, with -fflags nobuffer the HLS demuxer delivers nothing.
                    _ => $"-protocol_whitelist http,https,tcp,tls,crypto -rw_timeout {timeout} -re",
                };
                bool segmented = scheme is "http" or "https";
                return new InputPlan(source.Path, segmented ? options : $"{options} {lowDelay}");
            }
        }
    }

    /// <summary>The frame rate a source is decoded at.</summary>
    public static double Rate(VideoSource source, VideoInfo? info, DecodeSettings settings) => source.Kind switch
    {
        SourceKind.File when info is not null => info.DecodeRate(settings.Fps),
        SourceKind.Webcam => settings.Fps ?? settings.CameraFps,
        _ => settings.Fps ?? DecodeSettings.DefaultLiveRate,
    };
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
