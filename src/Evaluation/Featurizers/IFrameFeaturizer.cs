namespace VideoSsl.Evaluation.Featurizers;

/// <summary>Turns decoded frames (rgb24, FrameSize x FrameSize) into one feature vector each.</summary>
public interface IFrameFeaturizer : IDisposable
{
    /// <summary>Short name used in the report: learned, random-init, raw-pixels, resnet18.</summary>
    string Name { get; }

    string Description { get; }

    /// <summary>The frame size this featurizer needs decoded.</summary>
    int FrameSize { get; }

    int Dimension { get; }

    /// <summary>Features of <paramref name="frames"/> frames packed in <paramref name="pixels"/>, row-major.</summary>
    float[] Featurize(byte[] pixels, int frames);
}
