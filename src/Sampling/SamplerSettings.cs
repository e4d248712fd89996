using System.Text.Json.Serialization;

namespace VideoSsl.Sampling;

/// <summary>How anchor/positive pairs are drawn from the frames in the buffers.</summary>
public sealed record SamplerSettings
{
    /// <summary>Anchor/positive pairs per batch (a step trains on twice as many frames).</summary>
    public int Batch { get; init; } = 32;

    /// <summary>A positive lies within this many seconds of its anchor.</summary>
    public double PosWindow { get; init; } = 0.5;

    /// <summary>Anchors of one source in one batch stand at least this many seconds apart; closer pairs are masked.</summary>
    public double NegGap { get; init; } = 2.0;

    /// <summary>For file sources: anchors drawn per newly decoded frame; decoding is paced to it.</summary>
    public double SamplesPerFrame { get; init; } = 4;

    /// <summary>Seconds of recent frames kept per source; null sizes it so a full batch fits in one source.</summary>
    public double? RingSeconds { get; init; }

    /// <summary>Smallest batch worth a step while the buffers fill; null means a quarter of the batch (at least 2).</summary>
    public int? MinAnchors { get; init; }

    /// <summary>Memory for buffered frames, all sources together; finished sources are dropped oldest first beyond it.</summary>
    [JsonPropertyName("buffer-mb")]
    public int BufferMegabytes { get; init; } = 1024;

    /// <summary>Batches that may wait for the trainer before the sampler is held back.</summary>
    public int BatchQueue { get; init; } = 2;

    /// <summary>Share of each batch's anchors drawn from the replay buffer of older pairs (0 turns replay off).</summary>
    public double Replay { get; init; }

    /// <summary>
    /// Positives drawn per anchor, each a different frame within pos-window of it: with more than one, the loss is
    /// multi-positive InfoNCE (all of them count as the anchor's positives).
    /// </summary>
    public int Positives { get; init; } = 1;

    /// <summary>Pairs the replay buffer keeps.</summary>
    public int ReplaySize { get; init; } = 1024;

    /// <summary>reservoir (a uniform sample of every pair seen) or diverse (evicts the pair most like another kept one).</summary>
    public ReplayPolicy ReplayPolicy { get; init; } = ReplayPolicy.Reservoir;

    /// <summary>Anchors of one source are laid out this far apart, so no anchor's positive falls within neg-gap of another anchor.</summary>
    [JsonIgnore]
    public double AnchorSpacing => NegGap + PosWindow;

    [JsonIgnore]
    public double EffectiveRingSeconds => RingSeconds ?? Batch * AnchorSpacing + PosWindow;

    [JsonIgnore]
    public int EffectiveMinAnchors => MinAnchors ?? Math.Max(2, Batch / 4);

    /// <summary>
    /// Files too short for a batch of the default minimum: the anchors that fit in their longest stretches decoded
    /// together (<paramref name="lanes"/> at a time), when that is at least 2 and below the minimum; otherwise null
    /// (nothing to change, an explicit --min-anchors, or not even 2 anchors fit).
    /// </summary>
    public int? AnchorsForShortFiles(IEnumerable<double> spans, int lanes)
    {
        if (MinAnchors is not null) return null;
        int fit = spans.Select(s => (int)Math.Floor(Math.Max(0, Math.Min(s, EffectiveRingSeconds)) / AnchorSpacing))
            .OrderDescending().Take(Math.Max(1, lanes)).Sum();
        return fit >= 2 && fit < EffectiveMinAnchors ? fit : null;
    }

    public IEnumerable<string> Problems()
    {
        if (Batch < 2) yield return $"batch must be at least 2 pairs: a batch of {Batch} has no negatives";
        if (Batch > 4096) yield return $"batch must be at most 4096 (got {Batch})";
        if (!(PosWindow > 0) || PosWindow > 3600) yield return $"pos-window must be above 0 and at most 3600 seconds (got {PosWindow})";
        if (NegGap > 86400) yield return $"neg-gap must be at most 86400 seconds (got {NegGap})";
        if (!(NegGap > PosWindow))
            yield return $"neg-gap ({NegGap} s) must be larger than pos-window ({PosWindow} s): a frame cannot be both near and far";
        if (!(SamplesPerFrame > 0)) yield return $"samples-per-frame must be above 0 (got {SamplesPerFrame})";
        if (RingSeconds is { } r && !(r >= AnchorSpacing))
            yield return $"ring-seconds must be at least neg-gap + pos-window = {AnchorSpacing} s (got {r})";
        if (MinAnchors is { } m && (m < 2 || m > Batch)) yield return $"min-anchors must be between 2 and the batch size {Batch} (got {m})";
        if (BufferMegabytes < 16) yield return $"buffer-mb must be at least 16 (got {BufferMegabytes})";
        if (BatchQueue < 1) yield return $"batch-queue must be at least 1 (got {BatchQueue})";
        if (!(Replay is >= 0 and < 1)) yield return $"replay must be at least 0 and below 1 (got {Replay})";
        if (ReplaySize < 1) yield return $"replay-size must be at least 1 (got {ReplaySize})";
        if (Positives is < 1 or > 8) yield return $"positives must be from 1 to 8 (got {Positives})";
        if (Positives > 1 && Replay > 0) yield return "replay keeps one positive per pair: use --positives 1 with --replay";
    }
}
