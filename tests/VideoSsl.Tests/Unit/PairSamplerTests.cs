using VideoSsl.Engine;
using VideoSsl.Sampling;
using static VideoSsl.Tests.Unit.FrameRingTests;

namespace VideoSsl.Tests.Unit;

[Trait("Category", "Unit")]
public class PairSamplerTests
{
    private static readonly SamplerSettings Settings = new() { Batch = 16, PosWindow = 0.5, NegGap = 2.0 };

    private static FrameRing Ring(int source, double seconds, double rate = 25)
    {
        var ring = new FrameRing(source, source, capacity: (int)(seconds * rate) + 1);
        for (long i = 0; i <= seconds * rate; i++) ring.Add(Frame(source, i, rate));
        return ring;
    }

    [Fact]
    public void Every_positive_is_another_frame_within_pos_window_of_its_anchor()
    {
        var rings = new[] { Ring(0, 60), Ring(1, 45) };
        for (int seed = 0; seed < 20; seed++)
        {
            var plan = new PairSampler(Settings).Plan(rings, new SeededRandom(seed), 16);
            Assert.Equal(16, plan.Count);
            foreach (var pair in plan.Pairs)
            {
                Assert.NotEqual(pair.Anchor, pair.Positive);
                Assert.InRange(Math.Abs(pair.AnchorPts - pair.PositivePts), 1e-9, Settings.PosWindow + 1e-9);
            }
        }
    }

    [Fact]
    public void Several_positives_per_anchor_are_distinct_frames_of_its_window_and_the_mask_has_a_block_for_each()
    {
        var settings = Settings with { Positives = 3 };
        var rings = new[] { Ring(0, 60), Ring(1, 45) };
        var plan = new PairSampler(settings).Plan(rings, new SeededRandom(4), 16);
        foreach (var pair in plan.Pairs)
        {
            var positives = Enumerable.Range(0, 3).Select(pair.PositiveAt).ToList();
            Assert.Equal(3, positives.Distinct().Count());
            Assert.DoesNotContain(pair.Anchor, positives);
            foreach (var p in positives) Assert.InRange(Math.Abs(pair.Ring[p].Pts - pair.AnchorPts), 1e-9, settings.PosWindow + 1e-9);
        }
        Assert.Equal(16 * 3 * 16, plan.Mask.Length);
        // An anchor's own positives are never masked (they are the targets); other anchors' positives of its source lie beyond neg-gap.
        for (int i = 0; i < 16; i++)
            for (int k = 0; k < 3; k++)
                Assert.False(plan.Mask[i * 48 + k * 16 + i]);
    }

    [Fact]
    public void Anchors_of_one_source_stand_at_least_neg_gap_apart_and_pairs_come_from_every_source()
    {
        var rings = new[] { Ring(0, 60), Ring(1, 45) };
        var plan = new PairSampler(Settings).Plan(rings, new SeededRandom(7), 16);
        foreach (var group in plan.Pairs.GroupBy(p => p.Ring.SourceId))
        {
            var times = group.Select(p => p.AnchorPts).Order().ToList();
            for (int i = 1; i < times.Count; i++) Assert.True(times[i] - times[i - 1] >= Settings.NegGap, $"anchors at {times[i - 1]} and {times[i]}");
        }
        Assert.Equal(2, plan.Pairs.Select(p => p.Ring.SourceId).Distinct().Count());
    }

    [Fact]
    public void The_mask_marks_exactly_the_same_source_pairs_closer_than_neg_gap()
    {
        // Build pairs by hand, some deliberately too close, and check the mask entry by entry.
        var a = Ring(0, 10);
        var b = Ring(1, 10);
        var pairs = new List<FramePair>
        {
            new(a, Anchor: 0, Positive: 5),      // a: 0.00 s -> 0.20 s
            new(a, Anchor: 25, Positive: 30),    // a: 1.00 s -> 1.20 s (1.2 s from anchor 0: too close)
            new(a, Anchor: 150, Positive: 155),  // a: 6.00 s -> 6.20 s (far from both)
            new(b, Anchor: 0, Positive: 5),      // other source, same times: always a true negative
        };
        var (mask, masked) = PairSampler.FalseNegativeMask(pairs, negGap: 2.0);
        int n = pairs.Count;
        for (int i = 0; i < n; i++)
        for (int j = 0; j < n; j++)
        {
            bool expected = i != j && pairs[i].Ring.SourceId == pairs[j].Ring.SourceId
                && Math.Abs(pairs[i].AnchorPts - pairs[j].PositivePts) < 2.0;
            Assert.Equal(expected, mask[i * n + j]);
        }
        Assert.True(mask[0 * n + 1] && mask[1 * n + 0]);
        Assert.False(mask[0 * n + 3]);
        Assert.Equal(2, masked);
        Assert.All(Enumerable.Range(0, n), i => Assert.False(mask[i * n + i]));
    }

    [Fact]
    public void Short_rings_give_fewer_anchors_instead_of_crowded_ones()
    {
        var sampler = new PairSampler(Settings);
        var shortRing = Ring(0, 6);   // room for two anchors 2.5 s apart
        Assert.Equal(2, sampler.GuaranteedAnchors([shortRing]));
        var plan = sampler.Plan([shortRing], new SeededRandom(3), 16);
        Assert.InRange(plan.Count, 2, 3);
        Assert.Equal(0, plan.MaskedPairs);
    }

    [Fact]
    public void The_same_seed_draws_the_same_batch()
    {
        var rings = new[] { Ring(0, 60), Ring(1, 45) };
        var first = new PairSampler(Settings).Plan(rings, new SeededRandom(11), 16);
        var second = new PairSampler(Settings).Plan(rings, new SeededRandom(11), 16);
        var third = new PairSampler(Settings).Plan(rings, new SeededRandom(12), 16);
        Assert.Equal(first.Pairs.Select(p => (p.Ring.SourceId, p.Anchor, p.Positive)), second.Pairs.Select(p => (p.Ring.SourceId, p.Anchor, p.Positive)));
        Assert.NotEqual(first.Pairs.Select(p => (p.Ring.SourceId, p.Anchor, p.Positive)), third.Pairs.Select(p => (p.Ring.SourceId, p.Anchor, p.Positive)));
    }

    [Fact]
    public void A_saved_random_state_continues_the_same_sequence()
    {
        var random = new SeededRandom(42);
        for (int i = 0; i < 5; i++) random.NextUInt64();
        var copy = new SeededRandom(0) { State = random.State };
        Assert.Equal(Enumerable.Range(0, 10).Select(_ => random.Next(1000)), Enumerable.Range(0, 10).Select(_ => copy.Next(1000)));
    }
}
