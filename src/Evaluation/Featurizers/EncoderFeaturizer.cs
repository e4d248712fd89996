using VideoSsl.Learning;

namespace VideoSsl.Evaluation.Featurizers;

/// <summary>
/// The encoder's embedding (every block's pooled features, what <c>embed</c> writes), or its projection head's output (what the loss
/// compared): trained, from a checkpoint, or with initial random weights.
/// </summary>
public sealed class EncoderFeaturizer(string name, string description, FrameEmbedder embedder, bool projected = false, bool ownsEmbedder = true)
    : IFrameFeaturizer
{
    public string Name { get; } = name;
    public string Description { get; } = description;
    public int FrameSize => embedder.FrameSize;
    public int Dimension => projected ? embedder.ProjectionDimension : embedder.Dimension;

    public float[] Featurize(byte[] pixels, int frames) => projected ? embedder.Project(pixels, frames) : embedder.Embed(pixels, frames);

    public void Dispose()
    {
        if (ownsEmbedder) embedder.Dispose();
    }
}
