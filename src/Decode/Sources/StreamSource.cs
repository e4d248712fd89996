using System.Globalization;
using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Decode.Sources;

/// <summary>
/// A network stream: rtsp, rtmp(s), srt, udp (MPEG-TS), rtp and http(s), HLS playlists included. Each scheme may use
/// only the protocols it needs (a playlist from the network can never make FFmpeg read local files), and every read
/// times out (--read-timeout) instead of blocking forever. Live; reopened with back-off when it drops out.
/// </summary>
public sealed class StreamSource : SourceKind
{
    /// <summary>URL schemes read as network streams.</summary>
    public static readonly IReadOnlySet<string> Schemes = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        "rtsp", "rtsps", "rtmp", "rtmps", "srt", "udp", "rtp", "http", "https",
    };

    public override string Name => "stream";
    public override string Spelling => "rtsp|rtmp|srt|udp|rtp|http(s)://...";
    public override bool Live => true;

    public override bool Claims(string spec) => Scheme(spec) is { } scheme && Schemes.Contains(scheme);

    private static string? Scheme(string spec) => spec.IndexOf("://", StringComparison.Ordinal) is > 0 and var at ? spec[..at].ToLowerInvariant() : null;

    protected override void Validate(string spec)
    {
        if (!Uri.TryCreate(spec, UriKind.Absolute, out _)) throw new UserError($"source '{spec}': not a valid URL");
    }

    public override bool WaitsForSender(VideoSource source) =>
        Scheme(source.Path) is "udp" or "rtp" || source.Path.Contains("mode=listener", StringComparison.OrdinalIgnoreCase);

    public override InputPlan Plan(VideoSource source, DecodeSettings settings, double rate)
    {
        string timeout = ((long)(settings.ReadTimeoutSeconds * 1_000_000)).ToString(CultureInfo.InvariantCulture);
        const string lowDelay = "-fflags nobuffer -flags low_delay";
        string scheme = Scheme(source.Path)!;
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
