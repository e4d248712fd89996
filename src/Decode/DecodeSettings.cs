namespace VideoSsl.Decode;

/// <summary>How sources are decoded.</summary>
public sealed record DecodeSettings
{
    /// <summary>Frames are scaled to Size x Size pixels (rgb24) by FFmpeg itself.</summary>
    public int Size { get; init; } = 96;

    /// <summary>Resample every source to this rate; null keeps each source's own rate.</summary>
    public double? Fps { get; init; }

    /// <summary>How many sources decode at once; their frames interleave, so batches mix videos.</summary>
    public int ParallelSources { get; init; } = 2;

    /// <summary>Frames that may wait between the decoder and the sampler before the decoder is held back.</summary>
    public int QueueFrames { get; init; } = 64;

    public IEnumerable<string> Problems()
    {
        if (Size < 16 || Size > 1024) yield return $"size must be between 16 and 1024 pixels (got {Size})";
        if (Fps is { } f && (f <= 0 || f > 240 || double.IsNaN(f))) yield return $"fps must be above 0 and at most 240 (got {f})";
        if (ParallelSources < 1 || ParallelSources > 16) yield return $"parallel-sources must be between 1 and 16 (got {ParallelSources})";
        if (QueueFrames < 2) yield return $"queue-frames must be at least 2 (got {QueueFrames})";
    }
}
