using VideoSsl.Learning;
using static TorchSharp.torch;

namespace VideoSsl.Tests.Unit;

[Trait("Category", "Unit")]
public class ContrastiveLossTests
{
    // Two anchors and their positives as unit vectors in 2-D, temperature 0.5:
    //   a1 = (1, 0), a2 = (0, 1), p1 = (1, 0), p2 = (0.6, 0.8)
    // similarities / 0.5:      p1    p2
    //                    a1 [ 2.0   1.2 ]
    //                    a2 [ 0.0   1.6 ]
    private static Tensor Anchors() => tensor(new float[] { 1, 0, 0, 1 }, [2, 2]);
    private static Tensor Positives() => tensor(new float[] { 1, 0, 0.6f, 0.8f }, [2, 2]);

    [Fact]
    public void InfoNce_matches_the_value_worked_out_by_hand()
    {
        // rows (anchor -> positives): -log softmax at the diagonal
        double row1 = Math.Log(1 + Math.Exp(1.2 - 2.0));   // 0.371101
        double row2 = Math.Log(1 + Math.Exp(0.0 - 1.6));   // 0.183015
        // columns (positive -> anchors)
        double col1 = Math.Log(1 + Math.Exp(0.0 - 2.0));   // 0.126928
        double col2 = Math.Log(1 + Math.Exp(1.2 - 1.6));   // 0.513015
        double expected = ((row1 + row2) / 2 + (col1 + col2) / 2) / 2;
        Assert.Equal(0.2987362, expected, 6);

        using var mask = zeros(2, 2, dtype: ScalarType.Bool);
        var output = ContrastiveLoss.InfoNce(Anchors(), Positives(), mask, temperature: 0.5);
        Assert.Equal(expected, output.Loss.item<float>(), 5);
        Assert.Equal(1.0, output.PairAccuracy.item<float>(), 6);   // both anchors rank their own positive first
    }

    [Fact]
    public void A_masked_pair_is_not_used_as_a_negative()
    {
        // Mask (anchor 1, positive 2): row 1 then has only its positive, and column 2 only anchor 2.
        double row2 = Math.Log(1 + Math.Exp(0.0 - 1.6));
        double col1 = Math.Log(1 + Math.Exp(0.0 - 2.0));
        double expected = ((0 + row2) / 2 + (col1 + 0) / 2) / 2;

        using var mask = tensor(new[] { false, true, false, false }, [2, 2]);
        var output = ContrastiveLoss.InfoNce(Anchors(), Positives(), mask, temperature: 0.5);
        Assert.Equal(expected, output.Loss.item<float>(), 5);
    }

    [Fact]
    public void Triplet_uses_the_hardest_unmasked_negative()
    {
        // Squared distances between unit vectors: 2 - 2 cos.  d(a1,p1)=0, d(a1,p2)=0.8, d(a2,p1)=2, d(a2,p2)=0.4
        // margin 1: anchor 1 -> max(0, 0 - 0.8 + 1) = 0.2 ; anchor 2 -> max(0, 0.4 - 2 + 1) = 0
        using var none = zeros(2, 2, dtype: ScalarType.Bool);
        Assert.Equal(0.1, ContrastiveLoss.Triplet(Anchors(), Positives(), none, margin: 1.0).Loss.item<float>(), 5);

        // With (a1, p2) masked, anchor 1 has no negative left and adds nothing.
        using var mask = tensor(new[] { false, true, false, false }, [2, 2]);
        Assert.Equal(0.0, ContrastiveLoss.Triplet(Anchors(), Positives(), mask, margin: 1.0).Loss.item<float>(), 5);
    }

    [Fact]
    public void Chance_level_counts_only_unmasked_candidates()
    {
        Assert.Equal(8.0, ContrastiveLoss.MeanCandidates(pairs: 8, maskedPairs: 0));
        Assert.Equal(7.5, ContrastiveLoss.MeanCandidates(pairs: 8, maskedPairs: 4));
    }

    [Fact]
    public void Multi_positive_InfoNce_with_one_positive_is_InfoNce()
    {
        using var mask = tensor(new[] { false, true, false, false }, [2, 2]);
        var single = ContrastiveLoss.InfoNce(Anchors(), Positives(), mask, temperature: 0.5);
        var multi = ContrastiveLoss.MultiPositiveInfoNce(Anchors(), Positives(), mask, temperature: 0.5);
        Assert.Equal(single.Loss.item<float>(), multi.Loss.item<float>(), 6);
        Assert.Equal(single.PairAccuracy.item<float>(), multi.PairAccuracy.item<float>(), 6);
    }

    [Fact]
    public void Multi_positive_InfoNce_counts_every_positive_of_an_anchor_and_matches_the_value_worked_out_by_hand()
    {
        // Second positives: q1 = (0.8, 0.6) for a1, q2 = (0, 1) for a2; candidates in blocks [p1 p2 | q1 q2].
        // similarities / 0.5:  p1   p2   q1   q2
        //                a1 [ 2.0  1.2  1.6  0.0 ]
        //                a2 [ 0.0  1.6  1.2  2.0 ]
        using var positives = tensor(new float[] { 1, 0, 0.6f, 0.8f, 0.8f, 0.6f, 0, 1 }, [4, 2]);
        double Lse(params double[] x) => Math.Log(x.Sum(Math.Exp));
        double row1 = Lse(2.0, 1.2, 1.6, 0.0) - Lse(2.0, 1.6);
        double row2 = Lse(0.0, 1.6, 1.2, 2.0) - Lse(1.6, 2.0);
        // columns: p1, p2, q1, q2 each against (a1, a2), targets a1, a2, a1, a2
        double col = (Lse(2.0, 0.0) - 2.0 + Lse(1.2, 1.6) - 1.6 + Lse(1.6, 1.2) - 1.6 + Lse(0.0, 2.0) - 2.0) / 4;
        double expected = ((row1 + row2) / 2 + col) / 2;

        using var mask = zeros(2, 4, dtype: ScalarType.Bool);
        var output = ContrastiveLoss.MultiPositiveInfoNce(Anchors(), positives, mask, temperature: 0.5);
        Assert.Equal(expected, output.Loss.item<float>(), 5);
        Assert.Equal(1.0, output.PairAccuracy.item<float>(), 6);   // a2's best candidate is q2, its own second positive

        // Masking a1's candidate q2 (another anchor's positive, too close in time) takes it out of row 1 only.
        using var masked = tensor(new[] { false, false, false, true, false, false, false, false }, [2, 4]);
        double row1Masked = Lse(2.0, 1.2, 1.6) - Lse(2.0, 1.6);
        double colMasked = (Lse(2.0, 0.0) - 2.0 + Lse(1.2, 1.6) - 1.6 + Lse(1.6, 1.2) - 1.6 + 0) / 4;
        var withMask = ContrastiveLoss.MultiPositiveInfoNce(Anchors(), positives, masked, temperature: 0.5);
        Assert.Equal(((row1Masked + row2) / 2 + colMasked) / 2, withMask.Loss.item<float>(), 5);
    }

    [Fact]
    public void The_time_order_term_is_low_when_similarity_falls_with_the_time_gap_and_high_when_it_rises()
    {
        // Four anchors of one source at 0, 3, 6 and 9 s, and one of another source.
        int[] sources = [0, 0, 0, 0, 1];
        double[] times = [0, 3, 6, 9, 0];
        // Unit vectors on an arc: the angle grows with time (ordered), or the moments are shuffled along it.
        static Tensor Arc(params double[] angles) => tensor(angles.SelectMany(a => new[] { (float)Math.Cos(a), (float)Math.Sin(a) }).ToArray(), [angles.Length, 2]);
        using var ordered = Arc(0, 0.45, 0.9, 1.35, 0.3);
        using var shuffled = Arc(0, 1.35, 0.45, 0.9, 0.3);
        float good = ContrastiveLoss.TimeOrder(ordered, sources, times, temperature: 0.1).item<float>();
        float bad = ContrastiveLoss.TimeOrder(shuffled, sources, times, temperature: 0.1).item<float>();
        Assert.True(good < 0.2f, $"ordered: {good}");
        Assert.True(bad > good + 0.1f, $"shuffled {bad} is not worse than ordered {good}");
        // With no two others of its source at different gaps, there is nothing to rank.
        Assert.Equal(0f, ContrastiveLoss.TimeOrder(ordered.narrow(0, 3, 2), [0, 1], [9, 0], 0.1).item<float>());
    }

    [Fact]
    public void Graded_targets_fall_with_the_time_gap_within_a_source_and_are_zero_across_sources()
    {
        // Anchors: source 0 at 0 s and 10 s, source 1 at 0 s; their positives 0.2 s later.
        float[] targets = ContrastiveLoss.GradedTargets([0, 0, 1], [0, 10, 0], [0.2, 10.2, 0.2], positives: 1, timeScale: 5);
        Assert.Equal(Math.Exp(-0.2 / 5), targets[0], 5);            // a1 -> its own positive
        Assert.Equal(Math.Exp(-10.2 / 5), targets[1], 5);           // a1 -> a2's positive, 10.2 s away
        Assert.Equal(0f, targets[2]);                                // a1 -> another source's positive
        Assert.Equal(Math.Exp(-9.8 / 5), targets[3], 5);            // a2 -> a1's positive
        Assert.Equal(0f, targets[6]);                                // a3 -> source 0
        Assert.Equal(Math.Exp(-0.2 / 5), targets[8], 5);            // a3 -> its own positive

        // A video weight lifts every pair of one source by the same amount, however far apart, and no other pair.
        float[] lifted = ContrastiveLoss.GradedTargets([0, 0, 1], [0, 10, 0], [0.2, 10.2, 0.2], positives: 1, timeScale: 5, videoWeight: 0.1);
        Assert.Equal(Math.Exp(-10.2 / 5) + 0.1, lifted[1], 5);
        Assert.Equal(Math.Exp(-0.2 / 5) + 0.1, lifted[8], 5);
        Assert.Equal(0f, lifted[2]);
        Assert.Equal(0f, lifted[6]);
    }

    [Fact]
    public void Power_falloff_targets_follow_the_power_law_and_keep_long_gaps_apart_where_the_exponential_ones_vanish()
    {
        // Anchor at 0 s; positives of the same source 0.2 s, 30 s and 300 s later, and one of another source.
        int[] sources = [0, 0, 0, 1];
        double[] anchors = [0, 30, 300, 0], positives = [0.2, 30.2, 300.2, 0.2];
        float[] power = ContrastiveLoss.GradedTargets(sources, anchors, positives, positives: 1, timeScale: 3, falloff: TimeFalloff.Power, power: 1.5);
        Assert.Equal(Math.Pow(1 + 0.2 / 3, -1.5), power[0], 5);
        Assert.Equal(Math.Pow(1 + 30.2 / 3, -1.5), power[1], 5);
        Assert.Equal(Math.Pow(1 + 300.2 / 3, -1.5), power[2], 5);
        Assert.Equal(0f, power[3]);
        // The ratio between 30 s and 300 s, which the loss turns into a similarity difference, stays large with the
        // power law (about 31x) and is lost with the exponential (both next to nothing beside the near pair).
        Assert.True(power[1] / power[2] > 20, $"30 s {power[1]} vs 300 s {power[2]}");
        float[] exponential = ContrastiveLoss.GradedTargets(sources, anchors, positives, positives: 1, timeScale: 3);
        Assert.True(exponential[1] < 1e-4f && exponential[2] < 1e-30f, $"exponential: {string.Join(", ", exponential)}");
    }

    [Fact]
    public void Graded_InfoNce_with_one_target_a_row_is_InfoNce_and_otherwise_matches_the_value_worked_out_by_hand()
    {
        using var mask = zeros(2, 2, dtype: ScalarType.Bool);
        using var identity = eye(2, dtype: ScalarType.Float32);
        var hard = ContrastiveLoss.InfoNce(Anchors(), Positives(), mask, temperature: 0.5);
        var graded = ContrastiveLoss.GradedInfoNce(Anchors(), Positives(), identity, temperature: 0.5);
        Assert.Equal(hard.Loss.item<float>(), graded.Loss.item<float>(), 5);

        // Targets [[3, 1], [0, 1]]: rows normalise to [0.75, 0.25] and [0, 1]; columns to [1, 0] and [0.5, 0.5].
        // logits [[2.0, 1.2], [0.0, 1.6]]
        double Lse(params double[] x) => Math.Log(x.Sum(Math.Exp));
        double row1 = -(0.75 * (2.0 - Lse(2.0, 1.2)) + 0.25 * (1.2 - Lse(2.0, 1.2)));
        double row2 = -(1.6 - Lse(0.0, 1.6));
        double col1 = -(2.0 - Lse(2.0, 0.0));
        double col2 = -(0.5 * (1.2 - Lse(1.2, 1.6)) + 0.5 * (1.6 - Lse(1.2, 1.6)));
        double expected = ((row1 + row2) / 2 + (col1 + col2) / 2) / 2;
        using var soft = tensor(new float[] { 3, 1, 0, 1 }, [2, 2]);
        Assert.Equal(expected, ContrastiveLoss.GradedInfoNce(Anchors(), Positives(), soft, temperature: 0.5).Loss.item<float>(), 5);
    }

    [Fact]
    public void The_graded_loss_reaches_its_floor_when_the_softmax_equals_the_targets()
    {
        // One-hot targets: the floor is 0, as for InfoNCE. Targets [[3, 1], [1, 3]]: rows and columns are (0.75, 0.25).
        Assert.Equal(0.0, ContrastiveLoss.GradedFloor([1, 0, 0, 1], 2, 2), 9);
        double entropy = -(0.75 * Math.Log(0.75) + 0.25 * Math.Log(0.25));
        Assert.Equal(entropy, ContrastiveLoss.GradedFloor([3, 1, 1, 3], 2, 2), 6);

        // Similarities whose softmax is exactly (0.75, 0.25) along every row and column: logit gap ln 3.
        double gap = Math.Log(3) * 0.5;   // temperature 0.5
        var angle = Math.Acos(1 - gap);
        using var anchors = tensor(new float[] { 1, 0, (float)Math.Cos(angle), (float)Math.Sin(angle) }, [2, 2]);
        using var positives = tensor(new float[] { 1, 0, (float)Math.Cos(angle), (float)Math.Sin(angle) }, [2, 2]);
        using var targets = tensor(new float[] { 3, 1, 1, 3 }, [2, 2]);
        var output = ContrastiveLoss.GradedInfoNce(anchors, positives, targets, temperature: 0.5);
        Assert.Equal(entropy, output.Loss.item<float>(), 4);
    }
}
