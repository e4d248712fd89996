using TorchSharp;
using VideoSsl.Engine;
using static TorchSharp.torch;

namespace VideoSsl.Learning;

/// <summary>An encoder in evaluation mode: frames in, the embedding out (every block's pooled features, see <see cref="ContrastiveModel.Embed"/>).</summary>
public sealed class FrameEmbedder : IDisposable
{
    private readonly ContrastiveModel _model;

    /// <summary>The trained encoder of a checkpoint.</summary>
    public FrameEmbedder(Checkpoint checkpoint, Device device)
        : this(TrainingSession.LoadForInference(checkpoint, device), checkpoint.Info.FrameSize, device) { }

    /// <summary>An encoder of the given shape at its starting weights, untrained: random and seeded, or ImageNet's (<see cref="ModelSettings.Init"/>).</summary>
    public static FrameEmbedder Untrained(ModelSettings settings, int frameSize, Device device, long seed)
    {
        ComputeDevice.Seed(seed);
        var model = new ContrastiveModel(settings).to(device);
        model.eval();
        return new FrameEmbedder(model, frameSize, device);
    }

    /// <summary>The embedding of a model someone else owns (the trainer's, for the online monitor); it must already be in evaluation mode.</summary>
    public static FrameEmbedder Borrowing(ContrastiveModel model, int frameSize, Device device) => new(model, frameSize, device, owns: false);

    private readonly bool _owns;

    private FrameEmbedder(ContrastiveModel model, int frameSize, Device device, bool owns = true)
    {
        _owns = owns;
        _model = model;
        Device = device;
        FrameSize = frameSize;
    }

    public Device Device { get; }
    public int FrameSize { get; }
    public int Dimension => _model.Settings.FeatureDim;

    /// <summary>Size of the projection head's output (what the loss compared).</summary>
    public int ProjectionDimension => _model.Settings.EmbeddingDim;

    /// <summary>Embeds <paramref name="frames"/> rgb24 frames packed in <paramref name="pixels"/>; returns frames x Dimension floats, row-major.</summary>
    public float[] Embed(byte[] pixels, int frames) => Run(pixels, frames, projected: false);

    /// <summary>The projection head's L2-normalised output instead of the pooled features.</summary>
    public float[] Project(byte[] pixels, int frames) => Run(pixels, frames, projected: true);

    private float[] Run(byte[] pixels, int frames, bool projected)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = FrameTensors.Normalize(FrameTensors.ToUnitRange(pixels, frames, FrameSize, Device));
        float[] rows = (projected ? _model.forward(input) : _model.Embed(input)).cpu().data<float>().ToArray();
        // Finite weights can still overflow (a damaged checkpoint's huge values): such rows are never handed on.
        int bad = Array.FindIndex(rows, v => !float.IsFinite(v));
        if (bad >= 0)
            throw new UserError($"the encoder's output for frame {bad / (rows.Length / frames) + 1} of a batch of {frames} is not finite (NaN or infinite): the checkpoint's weights are unusable; no such embedding is written");
        return rows;
    }

    public void Dispose()
    {
        if (_owns) _model.Dispose();
    }
}
