using VideoSsl.Engine;

namespace VideoSsl.Sampling;

/// <summary>One anchor/positive pair: positions in one ring.</summary>
public readonly record struct FramePair(FrameRing Ring, int Anchor, int Positive)
{
    public double AnchorPts => Ring[Anchor].Pts;
    public double PositivePts => Ring[Positive].Pts;
}

/// <summary>The pairs of one batch and which (anchor i, positive j) pairs must not count as negatives.</summary>
public sealed record BatchPlan(IReadOnlyList<FramePair> Pairs, bool[] Mask, int MaskedPairs)
{
    public int Count => Pairs.Count;

    /// <summary>Share of the off-diagonal anchor/positive pairs that are masked out of the loss.</summary>
    public double MaskedFraction => Count < 2 ? 0 : MaskedPairs / (double)(Count * (Count - 1));
}

/// <summary>
/// Chooses a batch from the frames held in the rings. In each ring anchors are laid out on a grid with a random
/// phase and a spacing of neg-gap + pos-window, so any two anchors of one source are at least that far apart and
/// every positive (within pos-window of its anchor) is at least neg-gap from every other anchor; anchors from
/// other sources are negatives by construction. A pair (anchor i, positive j) of the same source closer than
/// neg-gap would be a false negative: it is masked, whatever produced it.
/// </summary>
public sealed class PairSampler
{
    private readonly SamplerSettings _settings;

    public PairSampler(SamplerSettings settings) => _settings = settings;

    /// <summary>Anchors the rings can hold whatever the phase drawn (the grid fits at least floor(span/spacing) points).</summary>
    public int GuaranteedAnchors(IEnumerable<FrameRing> rings) =>
        rings.Where(r => r.Count >= 2).Sum(r => (int)Math.Floor(r.Span / _settings.AnchorSpacing));

    public BatchPlan Plan(IReadOnlyList<FrameRing> rings, SeededRandom random, int anchors)
    {
        double spacing = _settings.AnchorSpacing;
        var slots = new List<(FrameRing Ring, int Anchor)>();
        foreach (var ring in rings)
        {
            if (ring.Count < 2) continue;
            double phase = random.NextDouble() * spacing;
            int previous = -1;
            for (double t = ring.FirstPts + phase; t <= ring.LastPts; t += spacing)
            {
                int anchor = ring.Nearest(t);
                if (anchor != previous && HasPositive(ring, anchor)) slots.Add((ring, anchor));
                previous = anchor;
            }
        }

        // Partial Fisher-Yates: a uniform random subset of the slots, in random order.
        int count = Math.Min(anchors, slots.Count);
        for (int i = 0; i < count; i++)
        {
            int j = i + random.Next(slots.Count - i);
            (slots[i], slots[j]) = (slots[j], slots[i]);
        }

        var pairs = new FramePair[count];
        for (int i = 0; i < count; i++)
        {
            var (ring, anchor) = slots[i];
            pairs[i] = new FramePair(ring, anchor, DrawPositive(ring, anchor, random));
        }
        var (mask, masked) = FalseNegativeMask(pairs, _settings.NegGap);
        return new BatchPlan(pairs, mask, masked);
    }

    /// <summary>mask[i * n + j] is true when positive j is too close in time to anchor i (same source) to be a negative.</summary>
    public static (bool[] Mask, int Masked) FalseNegativeMask(IReadOnlyList<FramePair> pairs, double negGap) =>
        FalseNegativeMask(pairs.Select(p => (p.Ring.SourceId, p.AnchorPts, p.PositivePts)).ToList(), negGap);

    /// <summary>The same for pairs described by their source and times (replayed pairs have no ring).</summary>
    public static (bool[] Mask, int Masked) FalseNegativeMask(IReadOnlyList<(int Source, double AnchorPts, double PositivePts)> pairs, double negGap)
    {
        int n = pairs.Count;
        var mask = new bool[n * n];
        int masked = 0;
        for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
        {
            if (i == j || pairs[i].Source != pairs[j].Source) continue;
            if (Math.Abs(pairs[i].AnchorPts - pairs[j].PositivePts) < negGap)
            {
                mask[i * n + j] = true;
                masked++;
            }
        }
        return (mask, masked);
    }

    private (int First, int Last) PositiveRange(FrameRing ring, int anchor)
    {
        double t = ring[anchor].Pts;
        int first = ring.LowerBound(t - _settings.PosWindow);
        int last = ring.LowerBound(t + _settings.PosWindow + 1e-9) - 1;
        return (first, last);
    }

    private bool HasPositive(FrameRing ring, int anchor)
    {
        var (first, last) = PositiveRange(ring, anchor);
        return last > first;   // at least one frame besides the anchor itself
    }

    private int DrawPositive(FrameRing ring, int anchor, SeededRandom random)
    {
        var (first, last) = PositiveRange(ring, anchor);
        int pick = first + random.Next(last - first);   // last - first candidates once the anchor is left out
        return pick >= anchor ? pick + 1 : pick;
    }
}
