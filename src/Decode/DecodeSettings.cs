using System.Text.Json.Serialization;
using System.Text.RegularExpressions;

namespace VideoSsl.Decode;

/// <summary>How sources are decoded.</summary>
public sealed partial record DecodeSettings
{
    /// <summary>Frames are scaled to Size x Size pixels (rgb24) by FFmpeg itself.</summary>
    public int Size { get; init; } = 96;

    /// <summary>Resample every source to this rate; null keeps each file's own rate (live sources: 30, cameras: camera-fps).</summary>
    public double? Fps { get; init; }

    /// <summary>How many files decode at once; their frames interleave, so batches mix videos. Live sources always have their own.</summary>
    public int ParallelSources { get; init; } = 2;

    /// <summary>
    /// Decoding and filtering threads of each FFmpeg process; 0 lets FFmpeg choose (about one per core). One thread
    /// costs less CPU per frame, yet training end to end was no faster with it: FFmpeg's own threads fill the gaps
    /// the trainer leaves (README, *Speed*). Worth setting to 1 when many sources decode at once.
    /// </summary>
    public int FfmpegThreads { get; init; }

    /// <summary>Frames that may wait between the decoder and the sampler before the decoder is held back.</summary>
    public int QueueFrames { get; init; } = 64;

    /// <summary>Read files at their own frame rate, as if live: frames the learner cannot take are dropped.</summary>
    public bool Realtime { get; init; }

    /// <summary>Frames a live source may queue before its oldest are dropped.</summary>
    public int LiveQueueFrames { get; init; } = 8;

    /// <summary>Capture size asked of a webcam, WIDTHxHEIGHT.</summary>
    public string CameraSize { get; init; } = "640x480";

    /// <summary>Capture rate asked of a webcam (FFmpeg's input option -framerate).</summary>
    public double CameraFps { get; init; } = 30;

    /// <summary>A network stream that sends nothing for this long is treated as dropped.</summary>
    public double ReadTimeoutSeconds { get; init; } = 5;

    /// <summary>Longest wait between reconnection attempts (the wait doubles from one second up to this).</summary>
    public double ReconnectMaxSeconds { get; init; } = 30;

    /// <summary>
    /// Keep the last this-many minutes of each live source as video beside the run (RUN_DIR/recent/, rolling
    /// MPEG-TS segments), so eval can measure the model on what it has just been learning from (in-stream).
    /// </summary>
    public double? KeepRecentMinutes { get; init; }

    /// <summary>Length of one recent-input segment: short enough that pruning keeps close to the asked minutes.</summary>
    [JsonIgnore]
    public double RecentSegmentSeconds => KeepRecentMinutes is { } m ? Math.Clamp(m * 60 / 4, 1, 30) : 30;

    /// <summary>Rate of live sources when --fps is not given (cameras use camera-fps).</summary>
    public const double DefaultLiveRate = 30;

    [JsonIgnore]
    public (int Width, int Height) CameraDimensions
    {
        get
        {
            var match = SizePattern().Match(CameraSize);
            return match.Success ? (int.Parse(match.Groups[1].Value), int.Parse(match.Groups[2].Value)) : (0, 0);
        }
    }

    public IEnumerable<string> Problems()
    {
        if (Size < 16 || Size > 1024) yield return $"size must be between 16 and 1024 pixels (got {Size})";
        if (Fps is { } f && (f <= 0 || f > 240 || double.IsNaN(f))) yield return $"fps must be above 0 and at most 240 (got {f})";
        if (ParallelSources < 1 || ParallelSources > 16) yield return $"parallel-sources must be between 1 and 16 (got {ParallelSources})";
        if (FfmpegThreads < 0 || FfmpegThreads > 64) yield return $"ffmpeg-threads must be between 0 and 64 (got {FfmpegThreads})";
        if (QueueFrames < 2) yield return $"queue-frames must be at least 2 (got {QueueFrames})";
        if (LiveQueueFrames < 1) yield return $"live-queue-frames must be at least 1 (got {LiveQueueFrames})";
        if (CameraDimensions is (< 16, _) or (_, < 16)) yield return $"camera-size must be WIDTHxHEIGHT, e.g. 640x480 (got '{CameraSize}')";
        if (!(CameraFps > 0 && CameraFps <= 240)) yield return $"camera-fps must be above 0 and at most 240 (got {CameraFps})";
        if (!(ReadTimeoutSeconds > 0)) yield return $"read-timeout must be above 0 seconds (got {ReadTimeoutSeconds})";
        if (!(ReconnectMaxSeconds >= 1)) yield return $"reconnect-max must be at least 1 second (got {ReconnectMaxSeconds})";
        if (KeepRecentMinutes is { } keep && !(keep > 0 && keep <= 24 * 60)) yield return $"keep-recent must be above 0 and at most 1440 minutes (got {keep})";
    }

    [GeneratedRegex(@"^(\d{2,5})x(\d{2,5})$")]
    private static partial Regex SizePattern();
}
