using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using VideoSsl.Engine;
using VideoSsl.Learning.Backbones;

namespace VideoSsl.Evaluation.Featurizers;

/// <summary>
/// The anchor a user would otherwise reach for: ImageNet-supervised ResNet-18 (the ONNX model ML.NET's image
/// featurizer ships), its pooled 512-d features of the 224 x 224 frame, run with ONNX Runtime on the CPU.
/// </summary>
public sealed class ResNet18Featurizer : IFrameFeaturizer
{
    private const int Side = 224;
    private readonly InferenceSession _preprocess;
    private readonly InferenceSession _network;

    public ResNet18Featurizer(int threads = 0)
    {
        string model = ImageNetWeights.ModelPath, preprocess = ImageNetWeights.PreprocessPath;
        if (!File.Exists(model) || !File.Exists(preprocess))
            throw new UserError($"the ResNet-18 baseline needs {model}; rebuild the program (the files come from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18)");
        var options = new SessionOptions { IntraOpNumThreads = threads, GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        _preprocess = new InferenceSession(preprocess, options);
        _network = new InferenceSession(model, options);
    }

    public string Name => "resnet18";
    public string Description => "ImageNet-supervised ResNet-18, pooled 512-d features at 224 px";
    public int FrameSize => Side;
    public int Dimension => 512;

    public float[] Featurize(byte[] pixels, int frames)
    {
        var features = new float[frames * Dimension];
        var input = new DenseTensor<float>([1, 3, Side, Side]);
        var buffer = input.Buffer.Span;
        for (int f = 0; f < frames; f++)
        {
            var frame = pixels.AsSpan(f * Side * Side * 3, Side * Side * 3);
            for (int p = 0; p < Side * Side; p++)
            for (int c = 0; c < 3; c++)
                buffer[c * Side * Side + p] = frame[p * 3 + c];   // HWC bytes to CHW 0-255, as the preprocess model expects
            using var prepared = _preprocess.Run([NamedOnnxValue.CreateFromTensor("OriginalInput", input)]);
            var normalised = prepared.First().AsTensor<float>();
            using var pooled = _network.Run([NamedOnnxValue.CreateFromTensor("Input247", normalised)]);
            var output = pooled.First().AsTensor<float>();
            for (int k = 0; k < Dimension; k++) features[f * Dimension + k] = output[0, k, 0, 0];
        }
        return features;
    }

    public void Dispose()
    {
        _preprocess.Dispose();
        _network.Dispose();
    }
}
