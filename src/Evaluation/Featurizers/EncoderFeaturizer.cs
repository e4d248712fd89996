using VideoSsl.Learning;

namespace VideoSsl.Evaluation.Featurizers;

/// <summary>The encoder's pooled features: trained (from a checkpoint) or with its initial random weights.</summary>
public sealed class EncoderFeaturizer(string name, string description, FrameEmbedder embedder) : IFrameFeaturizer
{
    public string Name { get; } = name;
    public string Description { get; } = description;
    public int FrameSize => embedder.FrameSize;
    public int Dimension => embedder.Dimension;

    public float[] Featurize(byte[] pixels, int frames) => embedder.Embed(pixels, frames);

    public void Dispose() => embedder.Dispose();
}
