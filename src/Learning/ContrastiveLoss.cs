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
