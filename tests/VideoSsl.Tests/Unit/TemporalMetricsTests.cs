using VideoSsl.Evaluation.Metrics;

namespace VideoSsl.Tests.Unit;

/// <summary>Each metric on constructed embeddings whose right answer is known.</summary>
[Trait("Category", "Unit")]
public class TemporalMetricsTests
{
    /// <summary>Frames of <paramref name="videos"/> videos at 5 frames/s; <paramref name="embed"/> gives each frame's vector.</summary>
    private static FrameSet Build(int videos, int framesPerVideo, Func<int, double, float[]> embed)
    {
        var rows = new List<float>();
        var ids = new List<int>();
        var times = new List<double>();
        int dimension = 0;
        for (int v = 0; v < videos; v++)
        for (int i = 0; i < framesPerVideo; i++)
        {
            double t = i / 5.0;
            var vector = embed(v, t);
            dimension = vector.Length;
            rows.AddRange(vector);
            ids.Add(v);
            times.Add(t);
        }
        return new FrameSet(rows.ToArray(), dimension, ids.ToArray(), times.ToArray(), Enumerable.Range(0, videos).Select(v => $"v{v}").ToList());
    }

    /// <summary>A smooth, non-returning path on the sphere: the angle grows with time, so distance grows with time apart.</summary>
    private static float[] Smooth(int video, double t) =>
        [(float)Math.Cos(t * 0.05), (float)Math.Sin(t * 0.05), video, 0];

    private static float[] Random(int video, double t)
    {
        // Seeded from the frame itself, not HashCode (randomised per process), so every run sees the same vectors.
        var random = new Random(video * 1_000_003 + (int)Math.Round(t * 1000));
        return Enumerable.Range(0, 32).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }

    [Fact]
    public void Embeddings_that_follow_time_smoothly_score_auc_1_and_tau_1()
    {
        var set = Build(videos: 2, framesPerVideo: 100, Smooth);
        var auc = TemporalMetrics.NearFar(set, posWindow: 0.5, negGap: 2);
        Assert.Equal(1.0, auc.Pooled, 9);
        Assert.Equal(1.0, auc.Balanced, 9);
        Assert.Equal(1.0, TemporalMetrics.TimeOrder(set).MeanTau, 3);   // float noise can split a rare tie
        Assert.True(auc.NearPairs > 0 && auc.FarPairs > auc.NearPairs);
    }

    [Fact]
    public void Random_embeddings_score_auc_near_one_half_and_tau_near_zero()
    {
        var set = Build(videos: 3, framesPerVideo: 120, Random);
        Assert.InRange(TemporalMetrics.NearFar(set, 0.5, 2).Pooled, 0.45, 0.55);
        Assert.InRange(TemporalMetrics.TimeOrder(set).MeanTau, -0.05, 0.05);
    }

    [Fact]
    public void Videos_in_separate_regions_are_retrieved_perfectly_and_random_ones_at_chance()
    {
        var separated = Build(3, 60, (v, t) => [v == 0 ? 1 : 0, v == 1 ? 1 : 0, v == 2 ? 1 : 0, (float)(0.01 * Math.Sin(t))]);
        var retrieval = TemporalMetrics.SameVideo(separated, negGap: 2);
        Assert.Equal(1.0, retrieval.Top1, 9);
        Assert.Equal(1.0, retrieval.MeanAveragePrecision, 9);

        Assert.All(new[] { "v0", "v1", "v2" }, v => Assert.Equal(1.0, retrieval.PerVideo[v], 9));

        var random = TemporalMetrics.SameVideo(Build(3, 60, Random), negGap: 2);
        Assert.InRange(random.Top1, 0.2, 0.5);   // one in three by chance
    }

    [Fact]
    public void Retrieval_per_video_shows_which_videos_lose_their_frames()
    {
        // v0 and v2 lie on top of each other (they differ only in a tiny third component), v1 apart from both: v1's
        // queries find only v1, while v0's and v2's find the other of the two about as often as their own.
        var set = Build(3, 60, (v, t) => v switch
        {
            0 => [1, 0, (float)(0.01 * Math.Sin(t))],
            1 => [0, 1, (float)(0.01 * Math.Sin(t))],
            _ => [1, 0, (float)(0.01 * Math.Cos(t))],
        });
        var retrieval = TemporalMetrics.SameVideo(set, negGap: 2);
        Assert.Equal(1.0, retrieval.PerVideo["v1"], 9);
        Assert.InRange(retrieval.PerVideo["v0"], 0, 0.9);
        Assert.InRange(retrieval.PerVideo["v2"], 0, 0.9);
        Assert.Equal(retrieval.MeanAveragePrecision, retrieval.PerVideo.Values.Average(), 9);   // equal query counts
    }

    [Fact]
    public void Two_identical_videos_align_with_no_error_and_reversed_ones_badly()
    {
        var same = Build(2, 100, (v, t) => Smooth(0, t));
        Assert.Equal(0.0, TemporalMetrics.AlignmentError(same, 0, 1), 9);
        var reversed = Build(2, 100, (v, t) => Smooth(0, v == 0 ? t : 19.8 - t));
        Assert.InRange(TemporalMetrics.AlignmentError(reversed, 0, 1), 0.45, 0.55);   // mean |x - (1 - x)| over [0, 1]
    }

    [Fact]
    public void Auc_and_kendall_tau_match_their_definitions_computed_pair_by_pair()
    {
        var random = new Random(3);
        // Rounded values, so ties occur and are handled as the definitions say.
        double[] x = Enumerable.Range(0, 80).Select(_ => Math.Round(random.NextDouble() * 10)).ToArray();
        double[] y = x.Select(v => Math.Round(v + random.NextDouble() * 6)).ToArray();
        long concordant = 0, discordant = 0, tiesX = 0, tiesY = 0;
        for (int i = 0; i < x.Length; i++)
        for (int j = i + 1; j < x.Length; j++)
        {
            double dx = x[i] - x[j], dy = y[i] - y[j];
            if (dx == 0 && dy == 0) continue;
            if (dx == 0) tiesX++;
            else if (dy == 0) tiesY++;
            else if (Math.Sign(dx) == Math.Sign(dy)) concordant++;
            else discordant++;
        }
        double expectedTau = (concordant - discordant) / Math.Sqrt((double)(concordant + discordant + tiesX) * (concordant + discordant + tiesY));
        Assert.Equal(expectedTau, TemporalMetrics.KendallTauB(x, y), 9);

        double[] positives = x[..30], negatives = y[30..];
        double wins = positives.Sum(p => negatives.Sum(n => p > n ? 1 : p == n ? 0.5 : 0));
        Assert.Equal(wins / (positives.Length * negatives.Length), TemporalMetrics.Auc(positives, negatives), 9);
    }

    [Fact]
    public void A_linear_probe_separates_separable_classes_and_not_random_labels_of_random_features()
    {
        var separable = Build(4, 50, (v, t) => [v % 2 == 0 ? 1 : -1, (float)Math.Sin(t), (float)Math.Cos(3 * t)]);
        var result = LinearProbe.Evaluate(separable, classOfVideo: [0, 1, 0, 1], classes: 2);
        Assert.Equal(1.0, result.Accuracy, 9);
        Assert.Equal(100, result.TestFrames);   // the last video of each class is held out

        var noise = LinearProbe.Evaluate(Build(4, 50, Random), [0, 1, 0, 1], 2);
        Assert.InRange(noise.Accuracy, 0.25, 0.75);
    }
}
