using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Sampling;

/// <summary>An anchor/positive pair kept for replay: copies of both frames' pixels, its source and times.</summary>
public sealed record ReplayPair(byte[] Anchor, byte[] Positive, int SourceId, double AnchorPts, double PositivePts);

/// <summary>What a full replay buffer lets go of when a new pair is offered.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(ChoiceConverter<ReplayPolicy>))]
public enum ReplayPolicy
{
    /// <summary>Reservoir sampling: a uniform sample of every pair ever offered.</summary>
    Reservoir,

    /// <summary>
    /// Minimum redundancy: the pair most like another pair already kept goes (the new one included), so long
    /// stretches of one unchanging scene do not crowd out rarer moments.
    /// </summary>
    Diverse,
}

/// <summary>
/// A bounded memory of older anchor/positive pairs for online learning: consecutive frames of a stream are highly
/// correlated, and a learner that only sees the last minute forgets the rest (the known failure of streaming
/// self-supervised learning). Every new pair is offered. <see cref="ReplayPolicy.Reservoir"/> keeps a uniform
/// sample of all pairs ever offered, so the memory spans the whole run while its size stays fixed;
/// <see cref="ReplayPolicy.Diverse"/> keeps the pairs least like each other, judged by an 8x8 colour thumbnail of
/// the anchor (cheap, and independent of the model, which changes as it learns).
/// </summary>
public sealed class ReplayBuffer(int capacity, ReplayPolicy policy = ReplayPolicy.Reservoir)
{
    private const int Thumb = 8;
    private readonly List<ReplayPair> _pairs = [];
    private readonly List<float[]> _thumbnails = [];
    private readonly List<float> _nearest = [];   // squared distance from each pair's thumbnail to its nearest other

    public int Capacity { get; } = capacity;
    public ReplayPolicy Policy { get; } = policy;
    public int Count => _pairs.Count;
    public long Offered { get; private set; }

    /// <summary>The pairs kept, in no particular order.</summary>
    public IReadOnlyList<ReplayPair> Pairs => _pairs;

    public void Offer(VideoFrame anchor, VideoFrame positive, SeededRandom random)
    {
        Offered++;
        if (Policy == ReplayPolicy.Diverse)
        {
            OfferDiverse(anchor, positive);
            return;
        }
        int slot = _pairs.Count < Capacity ? _pairs.Count : (int)Math.Min(int.MaxValue, (long)(random.NextDouble() * Offered));
        if (slot >= Capacity) return;
        var pair = new ReplayPair(anchor.Pixels.ToArray(), positive.Pixels.ToArray(), anchor.SourceId, anchor.Pts, positive.Pts);
        if (slot == _pairs.Count) _pairs.Add(pair);
        else _pairs[slot] = pair;
    }

    private void OfferDiverse(VideoFrame anchor, VideoFrame positive)
    {
        var thumbnail = Thumbnail(anchor.Pixels, anchor.Size);
        var distances = _thumbnails.Select(t => Distance(t, thumbnail)).ToArray();
        float nearest = distances.Length > 0 ? distances.Min() : float.PositiveInfinity;
        var pair = new ReplayPair(anchor.Pixels.ToArray(), positive.Pixels.ToArray(), anchor.SourceId, anchor.Pts, positive.Pts);
        if (_pairs.Count < Capacity)
        {
            for (int j = 0; j < _nearest.Count; j++) _nearest[j] = Math.Min(_nearest[j], distances[j]);
            _pairs.Add(pair);
            _thumbnails.Add(thumbnail);
            _nearest.Add(nearest);
            return;
        }
        // The closest two kept pairs decide: one of them is the most redundant. If the newcomer's nearest neighbour
        // is at least as close, the newcomer is what goes.
        int slot = 0;
        for (int i = 1; i < _nearest.Count; i++) if (_nearest[i] < _nearest[slot]) slot = i;
        if (nearest <= _nearest[slot]) return;
        var leaving = _thumbnails[slot];
        _pairs[slot] = pair;
        _thumbnails[slot] = thumbnail;
        _nearest[slot] = NearestOther(slot);
        for (int j = 0; j < _thumbnails.Count; j++)
        {
            if (j == slot) continue;
            // A pair whose nearest neighbour was the one that left looks again; every pair compares with the newcomer.
            if (Distance(_thumbnails[j], leaving) <= _nearest[j]) _nearest[j] = NearestOther(j);
            else _nearest[j] = Math.Min(_nearest[j], distances[j]);
        }
    }

    private float NearestOther(int index)
    {
        float best = float.PositiveInfinity;
        for (int k = 0; k < _thumbnails.Count; k++)
            if (k != index) best = Math.Min(best, Distance(_thumbnails[index], _thumbnails[k]));
        return best;
    }

    /// <summary>An 8x8 rgb thumbnail (nearest pixels on a grid), values 0 to 1.</summary>
    private static float[] Thumbnail(ReadOnlySpan<byte> rgb, int size)
    {
        var thumbnail = new float[Thumb * Thumb * 3];
        for (int y = 0; y < Thumb; y++)
            for (int x = 0; x < Thumb; x++)
            {
                int source = ((y * size / Thumb) * size + x * size / Thumb) * 3;
                for (int c = 0; c < 3; c++) thumbnail[(y * Thumb + x) * 3 + c] = rgb[source + c] / 255f;
            }
        return thumbnail;
    }

    private static float Distance(float[] a, float[] b)
    {
        float sum = 0;
        for (int i = 0; i < a.Length; i++)
        {
            float d = a[i] - b[i];
            sum += d * d;
        }
        return sum;
    }

    /// <summary>
    /// Up to <paramref name="count"/> distinct stored pairs, chosen uniformly among those that would not be false
    /// negatives of the batch's other pairs (same source, closer than <paramref name="negGap"/>): a batch of
    /// masked pairs teaches nothing.
    /// </summary>
    public IReadOnlyList<ReplayPair> Draw(int count, SeededRandom random, IReadOnlyList<(int Source, double Pts)> taken, double negGap)
    {
        var chosen = new List<ReplayPair>();
        var occupied = taken.ToList();
        var indices = Enumerable.Range(0, _pairs.Count).ToArray();
        for (int i = 0; i < indices.Length && chosen.Count < count; i++)
        {
            int j = i + random.Next(indices.Length - i);
            (indices[i], indices[j]) = (indices[j], indices[i]);
            var pair = _pairs[indices[i]];
            if (occupied.Any(o => o.Source == pair.SourceId && Math.Abs(o.Pts - pair.AnchorPts) < negGap + Math.Abs(pair.PositivePts - pair.AnchorPts)))
                continue;
            chosen.Add(pair);
            occupied.Add((pair.SourceId, pair.AnchorPts));
        }
        return chosen;
    }
}
