using static TorchSharp.torch;

namespace VideoSsl.Learning;

/// <summary>What the online quality monitor measured at one step on its held-out clips (the numbers <c>eval</c> reports).</summary>
/// <param name="Auc">Near/far AUC, balanced over the videos.</param>
/// <param name="Tau">Kendall's tau between distance and time gap, mean over the videos.</param>
/// <param name="MeanAveragePrecision">Same-video retrieval mAP (NaN with one video).</param>
/// <param name="Seconds">How long the measurement took.</param>
public sealed record QualityScores(double Auc, double Tau, double MeanAveragePrecision, double Seconds)
{
    /// <summary>The score best.ckpt is chosen by when the monitor runs (lower is better, as for the training signal).</summary>
    public double CheckpointScore => 1 - Auc;
}

/// <summary>
/// Measures the encoder on clips kept apart from training, every <see cref="Every"/> steps, on the trainer's thread
/// (which owns the model): the clips are decoded once, then each measurement is a forward pass in evaluation mode.
/// </summary>
public interface IQualityMonitor : IDisposable
{
    int Every { get; }

    QualityScores Measure(ContrastiveModel model, Device device);
}
