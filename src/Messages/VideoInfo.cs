namespace VideoSsl.Messages;

/// <summary>What FFprobe reports about a video, reduced to what the pipeline needs.</summary>
public sealed record VideoInfo(
    string Path,
    string Container,
    TimeSpan Duration,
    string Codec,
    int Width,
    int Height,
    string PixelFormat,
    double FrameRate,
    double AverageFrameRate,
    int Rotation,
    long? BitRate,
    bool HasAudio)
{
    /// <summary>
    /// The rate frames are produced at: the stream's nominal rate where it is sane, else its average rate. Some
    /// variable-rate files report a nominal rate of 90000 or several times the real one.
    /// </summary>
    public double DecodeRate(double? requested)
    {
        if (requested is { } r) return r;
        bool Sane(double x) => x > 0 && x <= 240 && !double.IsNaN(x);
        if (Sane(FrameRate) && (!Sane(AverageFrameRate) || FrameRate <= 2.5 * AverageFrameRate)) return FrameRate;
        if (Sane(AverageFrameRate)) return AverageFrameRate;
        return 25;
    }

    /// <summary>Frames a full decode should deliver at <paramref name="rate"/> (used for progress and to spot partial files).</summary>
    public long ExpectedFrames(double rate) => Math.Max(1, (long)Math.Round(Duration.TotalSeconds * rate));
}
