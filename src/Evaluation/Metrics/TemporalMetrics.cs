namespace VideoSsl.Evaluation.Metrics;

/// <summary>ROC AUC of near pairs over far pairs: pooled over every pair, and balanced (each video weighs the same).</summary>
public sealed record NearFarAuc(double Pooled, double Balanced, IReadOnlyDictionary<string, double> PerVideo, long NearPairs, long FarPairs);

/// <summary>
/// Same-video retrieval: is a frame's nearest neighbour (outside its own neighbourhood in time) from its video? The
/// mean average precision also per video, over the queries taken from it, so that the report shows whose frames get lost.
/// </summary>
public sealed record Retrieval(double Top1, double MeanAveragePrecision, int Queries, IReadOnlyDictionary<string, double> PerVideo);

/// <summary>Kendall's tau between embedding distance and time gap, per video and averaged over videos.</summary>
public sealed record TemporalOrder(double MeanTau, IReadOnlyDictionary<string, double> PerVideo);

/// <summary>
/// The temporal protocols: does the embedding put nearby moments near and distant ones far, does it keep videos
/// apart, and does distance grow with time apart. Every number here is computed from the features alone.
/// </summary>
public static class TemporalMetrics
{
    /// <summary>
    /// Over frame pairs of the same video, the chance that a near pair (0 &lt; |dt| &lt;= posWindow) has a higher cosine
    /// similarity than a far pair (|dt| &gt;= negGap). 1.0: every near pair beats every far pair; 0.5: chance.
    /// </summary>
    public static NearFarAuc NearFar(FrameSet set, double posWindow, double negGap)
    {
        var pooledNear = new List<double>();
        var pooledFar = new List<double>();
        var perVideo = new Dictionary<string, double>();
        foreach (var (video, start, end) in set.Ranges())
        {
            var near = new List<double>();
            var far = new List<double>();
            for (int i = start; i < end; i++)
            for (int j = i + 1; j < end; j++)
            {
                double dt = Math.Abs(set.Times[i] - set.Times[j]);
                if (dt <= posWindow + 1e-9) near.Add(set.Similarity(i, j));
                else if (dt >= negGap - 1e-9) far.Add(set.Similarity(i, j));
            }
            if (near.Count > 0 && far.Count > 0) perVideo[set.VideoNames[video]] = Auc(near, far);
            pooledNear.AddRange(near);
            pooledFar.AddRange(far);
        }
        double pooled = pooledNear.Count > 0 && pooledFar.Count > 0 ? Auc(pooledNear, pooledFar) : double.NaN;
        double balanced = perVideo.Count > 0 ? perVideo.Values.Average() : double.NaN;
        return new NearFarAuc(pooled, balanced, perVideo, pooledNear.Count, pooledFar.Count);
    }

    /// <summary>Mann-Whitney U as ROC AUC, ties counting half.</summary>
    public static double Auc(IReadOnlyList<double> positives, IReadOnlyList<double> negatives)
    {
        var all = positives.Select(v => (Value: v, Positive: true)).Concat(negatives.Select(v => (Value: v, Positive: false)))
            .OrderBy(p => p.Value).ToArray();
        double rankSum = 0;
        for (int i = 0; i < all.Length;)
        {
            int j = i;
            while (j < all.Length && all[j].Value == all[i].Value) j++;
            double averageRank = (i + 1 + j) / 2.0;   // ranks i+1..j share their mean
            for (int k = i; k < j; k++) if (all[k].Positive) rankSum += averageRank;
            i = j;
        }
        double p = positives.Count, n = negatives.Count;
        return (rankSum - p * (p + 1) / 2) / (p * n);
    }

    /// <summary>
    /// Each query frame against every frame of every video, leaving out itself and frames of its own video within
    /// negGap of it: top-1 accuracy and mean average precision of "same video".
    /// </summary>
    public static Retrieval SameVideo(FrameSet set, double negGap, int maxQueries = 1500)
    {
        if (set.Ranges().Count < 2) return new Retrieval(double.NaN, double.NaN, 0, new Dictionary<string, double>());
        int step = Math.Max(1, set.Count / maxQueries);
        double top1 = 0, ap = 0;
        int queries = 0;
        var videoAp = new double[set.VideoNames.Count];
        var videoQueries = new int[set.VideoNames.Count];
        var scored = new List<(double Similarity, bool Relevant)>(set.Count);
        for (int q = 0; q < set.Count; q += step)
        {
            scored.Clear();
            for (int c = 0; c < set.Count; c++)
            {
                bool same = set.Videos[c] == set.Videos[q];
                if (c == q || (same && Math.Abs(set.Times[c] - set.Times[q]) < negGap)) continue;
                scored.Add((set.Similarity(q, c), same));
            }
            if (!scored.Any(s => s.Relevant)) continue;
            scored.Sort((a, b) => b.Similarity.CompareTo(a.Similarity));
            top1 += scored[0].Relevant ? 1 : 0;
            int hits = 0;
            double precisionSum = 0;
            for (int r = 0; r < scored.Count; r++)
            {
                if (!scored[r].Relevant) continue;
                hits++;
                precisionSum += hits / (double)(r + 1);
            }
            double queryAp = precisionSum / hits;
            ap += queryAp;
            queries++;
            videoAp[set.Videos[q]] += queryAp;
            videoQueries[set.Videos[q]]++;
        }
        var perVideo = new Dictionary<string, double>();
        for (int v = 0; v < videoAp.Length; v++)
            if (videoQueries[v] > 0) perVideo[set.VideoNames[v]] = videoAp[v] / videoQueries[v];
        return new Retrieval(top1 / queries, ap / queries, queries, perVideo);
    }

    /// <summary>
    /// For reference frames spread through each video, Kendall's tau-b between the embedding distance to every
    /// other frame and the time gap to it: 1 when distance grows with time apart, 0 when unrelated.
    /// </summary>
    public static TemporalOrder TimeOrder(FrameSet set, int referencesPerVideo = 64)
    {
        var perVideo = new Dictionary<string, double>();
        foreach (var (video, start, end) in set.Ranges())
        {
            int n = end - start;
            if (n < 3) continue;
            var taus = new List<double>();
            int step = Math.Max(1, n / referencesPerVideo);
            var distance = new double[n - 1];
            var gap = new double[n - 1];
            for (int i = start; i < end; i += step)
            {
                int k = 0;
                for (int j = start; j < end; j++)
                {
                    if (j == i) continue;
                    // Rounded so that equal gaps on both sides of i, and their equal distances, stay ties despite
                    // floating-point noise (tau-b counts a pair tied in one variable only against the score).
                    distance[k] = Math.Round(1 - set.Similarity(i, j), 6);
                    gap[k] = Math.Round(Math.Abs(set.Times[i] - set.Times[j]), 6);
                    k++;
                }
                double tau = KendallTauB(distance, gap);
                if (double.IsFinite(tau)) taus.Add(tau);
            }
            if (taus.Count > 0) perVideo[set.VideoNames[video]] = taus.Average();
        }
        return new TemporalOrder(perVideo.Count > 0 ? perVideo.Values.Average() : double.NaN, perVideo);
    }

    /// <summary>Kendall's tau-b in O(n log n) (Knight's algorithm: sort by x, count discordant pairs by merge-sorting y).</summary>
    public static double KendallTauB(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        int n = x.Count;
        var order = Enumerable.Range(0, n).OrderBy(i => x[i]).ThenBy(i => y[i]).ToArray();
        long pairs = (long)n * (n - 1) / 2;
        long tiedX = 0, tiedXY = 0;
        for (int i = 0; i < n;)
        {
            int j = i;
            while (j < n && x[order[j]] == x[order[i]]) j++;
            tiedX += (long)(j - i) * (j - i - 1) / 2;
            for (int a = i; a < j;)
            {
                int b = a;
                while (b < j && y[order[b]] == y[order[a]]) b++;
                tiedXY += (long)(b - a) * (b - a - 1) / 2;
                a = b;
            }
            i = j;
        }
        var ys = order.Select(i => y[i]).ToArray();
        long swaps = MergeCountSwaps(ys, new double[n], 0, n);
        long tiedY = 0;
        for (int i = 0; i < n;)   // ys is sorted now
        {
            int j = i;
            while (j < n && ys[j] == ys[i]) j++;
            tiedY += (long)(j - i) * (j - i - 1) / 2;
            i = j;
        }
        double concordantMinusDiscordant = pairs - tiedX - tiedY + tiedXY - 2.0 * swaps;
        double denominator = Math.Sqrt((double)(pairs - tiedX) * (pairs - tiedY));
        return denominator > 0 ? concordantMinusDiscordant / denominator : double.NaN;
    }

    /// <summary>Sorts values[from, to) and returns the number of inversions (strictly greater before smaller).</summary>
    private static long MergeCountSwaps(double[] values, double[] scratch, int from, int to)
    {
        if (to - from < 2) return 0;
        int middle = (from + to) / 2;
        long swaps = MergeCountSwaps(values, scratch, from, middle) + MergeCountSwaps(values, scratch, middle, to);
        int left = from, right = middle, k = from;
        while (left < middle && right < to)
        {
            if (values[right] < values[left])
            {
                swaps += middle - left;
                scratch[k++] = values[right++];
            }
            else
            {
                scratch[k++] = values[left++];
            }
        }
        while (left < middle) scratch[k++] = values[left++];
        while (right < to) scratch[k++] = values[right++];
        Array.Copy(scratch, from, values, from, to - from);
        return swaps;
    }

    /// <summary>
    /// Time-Contrastive-Network alignment: for each frame of video A, the nearest frame of video B; the error is the
    /// mean gap between their positions, each as a share of its own video's length (0: perfectly aligned).
    /// </summary>
    public static double AlignmentError(FrameSet set, int videoA, int videoB)
    {
        var ranges = set.Ranges().ToDictionary(r => r.Video);
        var (_, aStart, aEnd) = ranges[videoA];
        var (_, bStart, bEnd) = ranges[videoB];
        double lengthA = set.Times[aEnd - 1] - set.Times[aStart], lengthB = set.Times[bEnd - 1] - set.Times[bStart];
        if (lengthA <= 0 || lengthB <= 0) return double.NaN;
        double error = 0;
        for (int i = aStart; i < aEnd; i++)
        {
            int best = bStart;
            double bestSimilarity = double.NegativeInfinity;
            for (int j = bStart; j < bEnd; j++)
            {
                double s = set.Similarity(i, j);
                if (s > bestSimilarity) (best, bestSimilarity) = (j, s);
            }
            error += Math.Abs((set.Times[i] - set.Times[aStart]) / lengthA - (set.Times[best] - set.Times[bStart]) / lengthB);
        }
        return error / (aEnd - aStart);
    }
}
