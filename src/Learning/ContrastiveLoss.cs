using TorchSharp;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VideoSsl.Learning;

/// <summary>The loss of one step and the share of anchors whose own positive ranked first.</summary>
public sealed record LossOutput(Tensor Loss, Tensor PairAccuracy);

/// <summary>
/// Temporal-contrastive objectives over b anchors and their b positives (L2-normalised rows). Row i of the
/// anchor-positive similarity matrix holds anchor i against every positive: its own positive (the diagonal) is the
/// target, the others are negatives unless the mask says they are too close in time to be.
/// </summary>
public static class ContrastiveLoss
{
    /// <summary>
    /// Symmetric InfoNCE: cross-entropy over each row (anchor to positives) and each column (positive to
    /// anchors) of similarity / temperature, masked pairs excluded from the softmax.
    /// </summary>
    public static LossOutput InfoNce(Tensor anchors, Tensor positives, Tensor mask, double temperature)
    {
        using var similarity = anchors.mm(positives.t());
        using var scaled = similarity.div(temperature);
        using var logits = scaled.masked_fill(mask, double.NegativeInfinity);
        using var targets = arange(anchors.shape[0], dtype: ScalarType.Int64, device: anchors.device);
        using var rows = functional.cross_entropy(logits, targets);
        using var columns = functional.cross_entropy(logits.t(), targets);
        var loss = rows.add(columns).div_(2);
        return new LossOutput(loss, PairAccuracy(logits, targets));
    }

    /// <summary>
    /// Multi-positive InfoNCE: every one of an anchor's K positives (frames within pos-window of it) counts as a
    /// positive. Rows: -log(sum over the anchor's positives of exp(s / t) / sum over all unmasked candidates);
    /// columns: each positive against the anchors, its own anchor the target. With K = 1 it is <see cref="InfoNce"/>.
    /// </summary>
    /// <param name="positives">[K b, D], block k holding every anchor's positive k.</param>
    /// <param name="mask">[b, K b], true where a candidate must not be a negative.</param>
    public static LossOutput MultiPositiveInfoNce(Tensor anchors, Tensor positives, Tensor mask, double temperature)
    {
        long n = anchors.shape[0], k = positives.shape[0] / n;
        using var similarity = anchors.mm(positives.t());
        using var scaled = similarity.div(temperature);
        using var logits = scaled.masked_fill(mask, double.NegativeInfinity);
        using var own = torch.eye(n, dtype: ScalarType.Bool, device: anchors.device).repeat(1, k);   // [b, K b]: anchor i's positives
        using var onlyOwn = logits.masked_fill(own.logical_not(), double.NegativeInfinity);
        using var positiveMass = onlyOwn.logsumexp(1);
        using var allMass = logits.logsumexp(1);
        using var rows = allMass.sub(positiveMass).mean();
        using var targets = arange(n, dtype: ScalarType.Int64, device: anchors.device).repeat(k);
        using var columns = functional.cross_entropy(logits.t(), targets);
        var loss = rows.add(columns).div_(2);
        return new LossOutput(loss, OwnPositiveAccuracy(logits, n));
    }

    /// <summary>
    /// Graded InfoNCE: soft targets instead of one positive. Anchor i's target share of candidate j is
    /// exp(-|t_i - t_j| / timeScale) for candidates of its own source and 0 for other sources, normalised per row
    /// (and per column for the symmetric half). At the optimum the similarity then falls in proportion to the time gap
    /// (temperature / timeScale per second) instead of dropping to one level for every pair beyond neg-gap, which is
    /// what Kendall's tau between distance and time gap rewards. No mask: near pairs get high targets, not exclusion.
    /// </summary>
    /// <param name="targets">[b, K b] unnormalised target weights, from <see cref="GradedTargets"/>.</param>
    public static LossOutput GradedInfoNce(Tensor anchors, Tensor positives, Tensor targets, double temperature)
    {
        long n = anchors.shape[0];
        using var similarity = anchors.mm(positives.t());
        using var logits = similarity.div(temperature);
        using var rowTargets = targets.div(targets.sum(1, keepdim: true));
        using var columnTargets = targets.div(targets.sum(0, keepdim: true));
        using var rowLog = functional.log_softmax(logits, 1);
        using var columnLog = functional.log_softmax(logits, 0);
        using var rows = rowLog.mul(rowTargets).sum(1, keepdim: false).mean().neg();
        using var columns = columnLog.mul(columnTargets).sum(0, keepdim: false).mean().neg();
        var loss = rows.add(columns).div_(2);
        return new LossOutput(loss, OwnPositiveAccuracy(logits, n));
    }

    /// <summary>
    /// Row-major b x (K b) target weights of <see cref="GradedInfoNce"/>: exp(-|dt| / timeScale) between anchor i and
    /// positive k of anchor j when both come from one source (or (1 + |dt| / timeScale)^-power with the power falloff),
    /// plus <paramref name="videoWeight"/> whatever the gap, else 0. Every anchor's own positives lie within pos-window,
    /// so each row and column has weight.
    /// </summary>
    public static float[] GradedTargets(IReadOnlyList<int> sources, IReadOnlyList<double> anchorTimes, IReadOnlyList<double> positiveTimes, int positives, double timeScale, double videoWeight = 0,
        TimeFalloff falloff = TimeFalloff.Exponential, double power = 1)
    {
        Func<double, double> weight = falloff == TimeFalloff.Power
            ? gap => Math.Pow(1 + gap / timeScale, -power)
            : gap => Math.Exp(-gap / timeScale);
        int n = sources.Count;
        var targets = new float[n * positives * n];
        for (int i = 0; i < n; i++)
            for (int k = 0; k < positives; k++)
                for (int j = 0; j < n; j++)
                {
                    if (sources[j] != sources[i]) continue;
                    double gap = Math.Abs(anchorTimes[i] - positiveTimes[k * n + j]);
                    targets[i * positives * n + k * n + j] = (float)(weight(gap) + videoWeight);
                }
        return targets;
    }

    /// <summary>
    /// The lowest value <see cref="GradedInfoNce"/> can reach with these targets: the mean entropy of its row-normalised
    /// and column-normalised targets (the cross-entropy when the softmax equals the targets).
    /// </summary>
    public static double GradedFloor(float[] targets, int rows, int columns)
    {
        double Entropy(Func<int, float> weight, int count)
        {
            double sum = 0, entropy = 0;
            for (int i = 0; i < count; i++) sum += weight(i);
            for (int i = 0; i < count; i++)
            {
                double p = weight(i) / sum;
                if (p > 0) entropy -= p * Math.Log(p);
            }
            return entropy;
        }
        double rowEntropy = Enumerable.Range(0, rows).Average(r => Entropy(c => targets[r * columns + c], columns));
        double columnEntropy = Enumerable.Range(0, columns).Average(c => Entropy(r => targets[r * columns + c], rows));
        return (rowEntropy + columnEntropy) / 2;
    }

    /// <summary>
    /// Time-Contrastive-Network triplet loss: max(0, d(a, p) - d(a, n) + margin) with n the hardest unmasked
    /// negative of each anchor, d the squared distance between unit vectors (2 - 2 cos).
    /// </summary>
    public static LossOutput Triplet(Tensor anchors, Tensor positives, Tensor mask, double margin)
    {
        long n = anchors.shape[0];
        using var similarity = anchors.mm(positives.t());
        using var distance = similarity.mul(-2).add_(2);
        using var positive = distance.diagonal();
        using var identity = torch.eye(n, dtype: ScalarType.Bool, device: anchors.device);
        using var excluded = mask.logical_or(identity);
        using var negatives = distance.masked_fill(excluded, double.PositiveInfinity);
        using var hardest = negatives.min(1).values;
        using var hinge = functional.relu(positive.sub(hardest).add_(margin));
        var loss = hinge.mean();
        using var logits = similarity.masked_fill(mask, double.NegativeInfinity);
        using var targets = arange(n, dtype: ScalarType.Int64, device: anchors.device);
        return new LossOutput(loss, PairAccuracy(logits, targets));
    }

    /// <summary>
    /// Time order within a source, graded beyond near and far: for every anchor i and two others j, k of its source
    /// with |t_i - t_j| at least <paramref name="minimumDifference"/> seconds shorter than |t_i - t_k|, a logistic
    /// ranking loss softplus(-(s_ij - s_ik) / temperature) asks the nearer to be the more similar. Zero when no
    /// such triplet exists. This is what Kendall's tau between embedding distance and time gap measures.
    /// </summary>
    public static Tensor TimeOrder(Tensor features, IReadOnlyList<int> sources, IReadOnlyList<double> times, double temperature, double minimumDifference = 1.0)
    {
        int n = sources.Count;
        var valid = new bool[n * n * n];
        bool any = false;
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
            {
                if (j == i || sources[j] != sources[i]) continue;
                double near = Math.Abs(times[i] - times[j]);
                for (int k = 0; k < n; k++)
                {
                    if (k == i || k == j || sources[k] != sources[i]) continue;
                    if (Math.Abs(times[i] - times[k]) - near < minimumDifference) continue;
                    valid[(i * n + j) * n + k] = any = true;
                }
            }
        if (!any) return zeros(1, device: features.device).squeeze();
        using var similarity = features.mm(features.t());
        using var difference = similarity.unsqueeze(2).sub(similarity.unsqueeze(1));   // [i, j, k] = s_ij - s_ik
        using var mask = tensor(valid, [n, n, n], device: features.device);
        using var ranked = difference.masked_select(mask);
        using var scaled = ranked.div(-temperature);
        using var penalty = functional.softplus(scaled);
        return penalty.mean();
    }

    /// <summary>The share of anchors whose best-scoring candidate is one of their own positives (candidates in blocks of b).</summary>
    private static Tensor OwnPositiveAccuracy(Tensor logits, long n)
    {
        using var best = logits.argmax(1);
        using var owner = best.remainder(n);
        using var self = arange(n, dtype: ScalarType.Int64, device: logits.device);
        using var hits = owner.eq(self);
        return hits.to(ScalarType.Float32).mean();
    }

    private static Tensor PairAccuracy(Tensor logits, Tensor targets)
    {
        using var best = logits.argmax(1);
        using var hits = best.eq(targets);
        return hits.to(ScalarType.Float32).mean();
    }

    /// <summary>
    /// Chance level of InfoNCE is ln(candidates per anchor); dividing by it makes 1.0 mean "no better than
    /// chance" whatever the batch size and mask. Candidates are the unmasked entries of a row, the positive included.
    /// </summary>
    public static double MeanCandidates(int pairs, int maskedPairs) => pairs - maskedPairs / (double)pairs;
}
