using VideoSsl.Decode;
using VideoSsl.Engine;

namespace VideoSsl.Sampling;

/// <summary>An anchor/positive pair kept for replay: copies of both frames' pixels, its source and times.</summary>
public sealed record ReplayPair(byte[] Anchor, byte[] Positive, int SourceId, double AnchorPts, double PositivePts);

/// <summary>
/// A bounded memory of older anchor/positive pairs for online learning: consecutive frames of a stream are highly
/// correlated, and a learner that only sees the last minute forgets the rest (the known failure of streaming
/// self-supervised learning). Every new pair is offered; reservoir sampling keeps a uniform sample of all pairs
/// ever offered, so the memory spans the whole run while its size stays fixed.
/// </summary>
public sealed class ReplayBuffer(int capacity)
{
    private readonly List<ReplayPair> _pairs = [];

    public int Capacity { get; } = capacity;
    public int Count => _pairs.Count;
    public long Offered { get; private set; }

    public void Offer(VideoFrame anchor, VideoFrame positive, SeededRandom random)
    {
        Offered++;
        int slot = _pairs.Count < Capacity ? _pairs.Count : (int)Math.Min(int.MaxValue, (long)(random.NextDouble() * Offered));
        if (slot >= Capacity) return;
        var pair = new ReplayPair(anchor.Pixels.ToArray(), positive.Pixels.ToArray(), anchor.SourceId, anchor.Pts, positive.Pts);
        if (slot == _pairs.Count) _pairs.Add(pair);
        else _pairs[slot] = pair;
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
