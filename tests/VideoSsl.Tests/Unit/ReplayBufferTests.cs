using VideoSsl.Engine;
using VideoSsl.Sampling;
using static VideoSsl.Tests.Unit.FrameRingTests;

namespace VideoSsl.Tests.Unit;

[Trait("Category", "Unit")]
public class ReplayBufferTests
{
    [Fact]
    public void The_reservoir_keeps_a_uniform_sample_of_everything_offered_in_fixed_memory()
    {
        var buffer = new ReplayBuffer(capacity: 200);
        var random = new SeededRandom(5);
        for (long i = 0; i < 20_000; i++)
        {
            var anchor = Frame(0, i);
            var positive = Frame(0, i + 1);
            buffer.Offer(anchor, positive, random);
            anchor.Release();
            positive.Release();
        }
        Assert.Equal(200, buffer.Count);
        Assert.Equal(20_000, buffer.Offered);
        var kept = buffer.Draw(200, random, [], negGap: 0).Select(p => p.AnchorPts * 25).ToList();
        // Uniform over 0..20000: mean near 10000, and every quarter of the stream represented.
        Assert.InRange(kept.Average(), 8_500, 11_500);
        for (int quarter = 0; quarter < 4; quarter++)
            Assert.InRange(kept.Count(k => k >= quarter * 5000 && k < (quarter + 1) * 5000), 25, 75);
    }

    [Fact]
    public void Replayed_pairs_are_never_false_negatives_of_the_batch()
    {
        var buffer = new ReplayBuffer(capacity: 100);
        var random = new SeededRandom(2);
        for (long i = 0; i < 100; i++) buffer.Offer(Frame(0, i * 10), Frame(0, i * 10 + 1), random);   // one pair every 0.4 s
        var taken = new List<(int Source, double Pts)> { (0, 10.0) };
        var drawn = buffer.Draw(20, random, taken, negGap: 2.5);
        Assert.NotEmpty(drawn);
        var all = taken.Concat(drawn.Select(d => (d.SourceId, d.AnchorPts))).ToList();
        for (int i = 0; i < all.Count; i++)
        for (int j = i + 1; j < all.Count; j++)
            Assert.True(Math.Abs(all[i].Item2 - all[j].Item2) >= 2.5, $"{all[i]} and {all[j]} are too close");
    }

    [Fact]
    public void The_diverse_policy_keeps_rare_moments_that_the_reservoir_loses_among_a_long_unchanging_scene()
    {
        // 2000 pairs of one unchanging grey scene with 10 distinct moments (other colours) among them.
        var rare = Enumerable.Range(0, 10).Select(k => 200 * k + 100).ToHashSet();
        int Kept(ReplayPolicy policy)
        {
            var buffer = new ReplayBuffer(capacity: 30, policy);
            var random = new SeededRandom(3);
            for (int i = 0; i < 2000; i++)
            {
                int k = i / 200;
                byte fill = rare.Contains(i) ? (byte)(k < 6 ? 20 * k + 10 : 20 * k + 50) : (byte)128;   // ten distinct colours, none grey
                var anchor = Frame(0, i, fill: fill);
                var positive = Frame(0, i + 1, fill: fill);
                buffer.Offer(anchor, positive, random);
                anchor.Release();
                positive.Release();
            }
            Assert.Equal(30, buffer.Count);
            return buffer.Pairs.Count(p => rare.Contains((int)Math.Round(p.AnchorPts * 25)));
        }
        Assert.Equal(10, Kept(ReplayPolicy.Diverse));
        Assert.True(Kept(ReplayPolicy.Reservoir) <= 3, "a uniform sample of 30 from 2000 keeps few of 10 rare pairs");
    }
}
