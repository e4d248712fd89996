using static TorchSharp.torch;

namespace VideoSsl.Learning;

/// <summary>A trained encoder in evaluation mode: frames in, L2-normalised pooled features out.</summary>
public sealed class FrameEmbedder : IDisposable
{
    private readonly ContrastiveModel _model;

    public FrameEmbedder(Checkpoint checkpoint, Device device)
    {
        _model = TrainingSession.LoadForInference(checkpoint, device);
        Device = device;
        FrameSize = checkpoint.Info.FrameSize;
    }

    public Device Device { get; }
    public int FrameSize { get; }
    public int Dimension => _model.Settings.FeatureDim;

    /// <summary>Embeds <paramref name="frames"/> rgb24 frames packed in <paramref name="pixels"/>; returns frames x Dimension floats, row-major.</summary>
    public float[] Embed(byte[] pixels, int frames)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var input = FrameTensors.Normalize(FrameTensors.ToUnitRange(pixels, frames, FrameSize, Device));
        return _model.Embed(input).cpu().data<float>().ToArray();
    }

    public void Dispose() => _model.Dispose();
}
