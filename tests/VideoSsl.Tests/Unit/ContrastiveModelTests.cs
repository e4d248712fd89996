using VideoSsl.Learning;
using static TorchSharp.torch;

namespace VideoSsl.Tests.Unit;

[Trait("Category", "Unit")]
public class ContrastiveModelTests
{
    [Fact]
    public void The_embedding_is_every_blocks_pooled_features_each_normalised_side_by_side()
    {
        manual_seed(3);
        var settings = new ModelSettings();
        using var model = new ContrastiveModel(settings);
        model.eval();
        using var scope = NewDisposeScope();
        var images = randn(3, 3, 32, 32);
        var embedding = model.Embed(images);

        Assert.Equal(new long[] { 3, settings.FeatureDim }, embedding.shape);
        Assert.Equal(32 + 64 + 128 + 256, settings.FeatureDim);
        // Unit rows, each block a quarter of the squared length.
        Assert.All(embedding.norm(1).data<float>().ToArray(), n => Assert.Equal(1.0, n, 4));
        long start = 0;
        foreach (int channels in settings.Channels)
        {
            var part = embedding.narrow(1, start, channels);
            Assert.All(part.norm(1).data<float>().ToArray(), n => Assert.Equal(0.5, n, 4));
            start += channels;
        }
        // The last block's part is the direction of the pooled feature map.
        var last = nn.functional.normalize(model.FeatureMap(images).mean([2, 3]), p: 2, dim: 1).mul(0.5);
        Assert.True(embedding.narrow(1, start - 256, 256).allclose(last, rtol: 1e-4, atol: 1e-5));
        // One pass gives the same embedding and the projection forward gives.
        var (features, projected) = model.ForwardBoth(images);
        Assert.True(features.allclose(embedding, rtol: 1e-4, atol: 1e-5));
        Assert.True(projected.allclose(model.forward(images), rtol: 1e-4, atol: 1e-5));
    }
}
