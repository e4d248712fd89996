using VideoSsl.Sampling;
using static TorchSharp.torch;

namespace VideoSsl.Learning;

/// <summary>What one objective made of one batch: the loss and pair accuracy (tensors of the step), and where 0 and 1 of loss_norm lie.</summary>
public sealed record ObjectiveOutput(Tensor Loss, Tensor PairAccuracy, double Floor, double Chance);

/// <summary>
/// The objective the trainer minimises, one type per <see cref="LossKind"/>: it turns the step's embeddings (anchors
/// first, then each anchor's positives) into a loss, and says what the loss is at chance and at its best, so that
/// loss_norm reads the same whatever the objective. A new objective is a new subclass and one line in <see cref="For"/>.
/// </summary>
public abstract class ContrastiveObjective(LossSettings settings)
{
    protected LossSettings Settings { get; } = settings;

    public static ContrastiveObjective For(LossSettings settings) => settings.Kind switch
    {
        LossKind.Triplet => new TripletObjective(settings),
        LossKind.InfoNce => new InfoNceObjective(settings),
        _ => new GradedObjective(settings),
    };

    /// <param name="embedded">The projected embeddings: b anchors, then K b positives (positive k of anchor i at k b + i).</param>
    /// <param name="candidates">Unmasked candidates per anchor, on average (chance is choosing among them).</param>
    public abstract ObjectiveOutput Compute(Tensor embedded, TrainingBatch batch, double candidates, Device device);

    protected static Tensor Anchors(Tensor embedded, TrainingBatch batch) => embedded.narrow(0, 0, batch.Count);

    protected static Tensor Positives(Tensor embedded, TrainingBatch batch) => embedded.narrow(0, batch.Count, batch.Positives * batch.Count);

    protected static Tensor Mask(TrainingBatch batch, Device device) =>
        tensor(batch.MaskForCount(), [batch.Count, batch.Positives * batch.Count], device: device);
}

/// <summary>
/// InfoNCE with soft targets: anchor i's share of candidate j falls with their time gap within a source and is 0
/// across sources; no mask. Its best value is the targets' entropy, not 0; rows choose among K b candidates and
/// columns among b anchors, so chance is the mean of the two logarithms.
/// </summary>
public sealed class GradedObjective(LossSettings settings) : ContrastiveObjective(settings)
{
    public override ObjectiveOutput Compute(Tensor embedded, TrainingBatch batch, double candidates, Device device)
    {
        int n = batch.Count, k = batch.Positives;
        float[] targets = ContrastiveLoss.GradedTargets(batch.SourceIds.AsSpan(0, n).ToArray(), batch.AnchorPts.AsSpan(0, n).ToArray(),
            PositiveTimes(batch), k, Settings.TimeScale, Settings.VideoWeight, Settings.Falloff, Settings.FalloffPower);
        var output = ContrastiveLoss.GradedInfoNce(Anchors(embedded, batch), Positives(embedded, batch), tensor(targets, [n, k * n], device: device), Settings.Temperature);
        return new ObjectiveOutput(output.Loss, output.PairAccuracy, ContrastiveLoss.GradedFloor(targets, n, k * n), (Math.Log(k * n) + Math.Log(n)) / 2);
    }

    /// <summary>Positive k of anchor i at [k b + i], b the batch's anchors (the batch stores them at its full width).</summary>
    private static double[] PositiveTimes(TrainingBatch batch)
    {
        var times = new double[batch.Positives * batch.Count];
        for (int k = 0; k < batch.Positives; k++)
            Array.Copy(batch.PositivePts, k * batch.MaxPairs, times, k * batch.Count, batch.Count);
        return times;
    }
}

/// <summary>
/// Symmetric InfoNCE with the false-negative mask (multi-positive with K &gt; 1: each row takes the log of its summed
/// probability); with K positives a row has K times the candidates and K targets, so chance is still ln(candidates).
/// </summary>
public sealed class InfoNceObjective(LossSettings settings) : ContrastiveObjective(settings)
{
    public override ObjectiveOutput Compute(Tensor embedded, TrainingBatch batch, double candidates, Device device)
    {
        var output = batch.Positives == 1
            ? ContrastiveLoss.InfoNce(Anchors(embedded, batch), Positives(embedded, batch), Mask(batch, device), Settings.Temperature)
            : ContrastiveLoss.MultiPositiveInfoNce(Anchors(embedded, batch), Positives(embedded, batch), Mask(batch, device), Settings.Temperature);
        return new ObjectiveOutput(output.Loss, output.PairAccuracy, 0, Math.Log(candidates));
    }
}

/// <summary>TCN-style triplet loss on the hardest unmasked negative (one positive per anchor); at chance it is the margin.</summary>
public sealed class TripletObjective(LossSettings settings) : ContrastiveObjective(settings)
{
    public override ObjectiveOutput Compute(Tensor embedded, TrainingBatch batch, double candidates, Device device)
    {
        int n = batch.Count;
        var output = ContrastiveLoss.Triplet(Anchors(embedded, batch), embedded.narrow(0, n, n), Mask(batch, device).narrow(1, 0, n), Settings.Margin);
        return new ObjectiveOutput(output.Loss, output.PairAccuracy, 0, Settings.Margin);
    }
}
