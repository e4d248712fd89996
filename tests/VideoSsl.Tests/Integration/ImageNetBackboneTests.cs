using VideoSsl.Evaluation.Featurizers;
using VideoSsl.Learning;
using VideoSsl.Learning.Backbones;
using VideoSsl.Tests.Support;
using static TorchSharp.torch;

namespace VideoSsl.Tests.Integration;

/// <summary>The resnet18 backbone with ImageNet weights read from the ONNX model, against ONNX Runtime running that model.</summary>
[Trait("Category", "Integration")]
public class ImageNetBackboneTests
{
    private const int Side = ResNetBackbone.NativeSide;

    /// <summary>rgb24 frames of FFmpeg scenes at 224 x 224, from scenes unlike each other.</summary>
    private static (byte[] Pixels, int Frames) Frames()
    {
        var frames = new List<byte>();
        int count = 0;
        foreach (string scene in new[] { "testsrc2", "mandelbrot", "life=mold=10:ratio=0.1:life_color=#00ff00", "cellauto=rule=110", "smptehdbars" })
        {
            string source = $"{scene}{(scene.Contains('=') ? ':' : '=')}size={Side}x{Side}:rate=5";
            string path = Path.Combine(Path.GetTempPath(), $"videossl-resnet-{Guid.NewGuid():N}.rgb");
            try
            {
                var (exit, _, _) = Tool.Run("ffmpeg", "-v", "error", "-f", "lavfi", "-i", source, "-t", "0.6", "-f", "rawvideo", "-pix_fmt", "rgb24", path);
                Assert.Equal(0, exit);
                var bytes = File.ReadAllBytes(path);
                frames.AddRange(bytes);
                count += bytes.Length / (Side * Side * 3);
            }
            finally
            {
                File.Delete(path);
            }
        }
        return (frames.ToArray(), count);
    }

    [Fact]
    public void Pooled_features_match_onnx_runtime_on_the_same_frames()
    {
        var (pixels, frames) = Frames();
        Assert.True(frames >= 10, $"{frames} frames");
        float[] expected;
        using (var onnx = new ResNet18Featurizer()) expected = onnx.Featurize(pixels, frames);

        var settings = new ModelSettings { Backbone = BackboneKind.ResNet18, Init = InitKind.ImageNet };
        using var model = new ContrastiveModel(settings);
        model.eval();
        float[] actual;
        using (NewDisposeScope())
        using (no_grad())
            actual = model.FeatureMap(FrameTensors.Normalize(FrameTensors.ToUnitRange(pixels, frames, Side, CPU))).mean([2, 3]).data<float>().ToArray();
        for (int f = 0; f < frames; f++)
        {
            var a = expected.AsSpan(f * 512, 512);
            var b = actual.AsSpan(f * 512, 512);
            double cosine = Cosine(a, b);
            Assert.True(cosine >= 0.999, $"frame {f}: cosine {cosine:F5} between the TorchSharp and ONNX Runtime features");
            // Not only the direction: the same magnitudes, as the same weights and preprocessing give.
            Assert.InRange(Math.Sqrt(Cosine(b, b, raw: true) / Cosine(a, a, raw: true)), 0.99, 1.01);
        }
        // And the scenes are told apart: a backbone that ignored its input would pass the cosine above only by accident.
        Assert.True(Cosine(expected.AsSpan(0, 512), expected.AsSpan((frames - 1) * 512, 512)) < 0.95);
    }

    [Fact]
    public void A_model_file_that_is_not_the_resnet_graph_is_refused_in_one_line()
    {
        using var work = new TempFolder("resnet-bad");
        File.WriteAllBytes(work["bad.onnx"], [0x08, 0x07, 0x12, 0x03, 0x61, 0x62]);
        using var backbone = new ResNetBackbone();
        var e = Assert.Throws<VideoSsl.Engine.UserError>(() => ImageNetWeights.Load(backbone, work["bad.onnx"], ImageNetWeights.PreprocessPath));
        Assert.Contains("bad.onnx", e.Message);
        Assert.DoesNotContain("\n", e.Message);
        // The preprocessing model in place of the network: read, but not the graph the backbone takes.
        e = Assert.Throws<VideoSsl.Engine.UserError>(() => ImageNetWeights.Load(backbone, ImageNetWeights.PreprocessPath, ImageNetWeights.PreprocessPath));
        Assert.Contains("ResNetPreprocess.onnx", e.Message);
    }

    /// <summary>The cosine of two vectors, or with <paramref name="raw"/> their dot product.</summary>
    private static double Cosine(ReadOnlySpan<float> a, ReadOnlySpan<float> b, bool raw = false)
    {
        double dot = 0, na = 0, nb = 0;
        for (int k = 0; k < a.Length; k++) (dot, na, nb) = (dot + a[k] * b[k], na + a[k] * a[k], nb + b[k] * b[k]);
        return raw ? dot : dot / Math.Sqrt(na * nb);
    }
}
