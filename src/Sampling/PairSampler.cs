using VideoSsl.Engine;

namespace VideoSsl.Sampling;

/// <summary>One anchor and its positive (positions in one ring), and its further positives when more than one is drawn.</summary>
public readonly record struct FramePair(FrameRing Ring, int Anchor, int Positive, IReadOnlyList<int>? MorePositives = null)
{
    public double AnchorPts => Ring[Anchor].Pts;
    public double PositivePts => Ring[Positive].Pts;

    /// <summary>Positive <paramref name="k"/> (0 is <see cref="Positive"/>).</summary>
    public int PositiveAt(int k) => k == 0 ? Positive : MorePositives![k - 1];
}

/// <summary>
/// The pairs of one batch and which (anchor i, positive j) pairs must not count as negatives: row-major, n rows of
/// positives-per-anchor x n columns (block k holds every anchor's positive k).
/// </summary>
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
            int positive = DrawPositive(ring, anchor, random);
            pairs[i] = _settings.Positives == 1
                ? new FramePair(ring, anchor, positive)
                : new FramePair(ring, anchor, positive, MorePositives(ring, anchor, positive, random));
        }
        var (mask, masked) = FalseNegativeMask(pairs, _settings.NegGap, _settings.Positives);
        return new BatchPlan(pairs, mask, masked);
    }

    /// <summary>Positives 2..K: other frames of the window where there are enough, repeats only where there are not.</summary>
    private int[] MorePositives(FrameRing ring, int anchor, int first, SeededRandom random)
    {
        var chosen = new List<int> { first };
        var (lo, hi) = PositiveRange(ring, anchor);
        int available = hi - lo;   // frames in the window besides the anchor
        while (chosen.Count < _settings.Positives)
        {
            int candidate = DrawPositive(ring, anchor, random);
            if (!chosen.Contains(candidate) || chosen.Count >= available) chosen.Add(candidate);
        }
        return [.. chosen.Skip(1)];
    }

    /// <summary>The mask for <paramref name="positives"/> positives per anchor: one n x n block per positive, side by side in each row.</summary>
    public static (bool[] Mask, int Masked) FalseNegativeMask(IReadOnlyList<FramePair> pairs, double negGap, int positives)
    {
        if (positives == 1) return FalseNegativeMask(pairs, negGap);
        int n = pairs.Count;
        var mask = new bool[n * positives * n];
        int masked = 0;
        for (int k = 0; k < positives; k++)
        {
            var (block, count) = FalseNegativeMask(pairs.Select(p => (p.Ring.SourceId, p.AnchorPts, p.Ring[p.PositiveAt(k)].Pts)).ToList(), negGap);
            for (int i = 0; i < n; i++) Array.Copy(block, i * n, mask, i * positives * n + k * n, n);
            masked += count;
        }
        return (mask, masked);
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
