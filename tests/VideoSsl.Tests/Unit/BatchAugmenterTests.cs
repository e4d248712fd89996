using VideoSsl.Learning;
using static TorchSharp.torch;

namespace VideoSsl.Tests.Unit;

[Trait("Category", "Unit")]
public class BatchAugmenterTests
{
    private static Tensor Images() => rand(6, 3, 16, 16, generator: new TorchSharp.torch.Generator(7));

    [Fact]
    public void With_every_strength_at_zero_the_frames_come_out_unchanged()
    {
        using var images = Images();
        var none = new BatchAugmenter(new AugmentSettings { CropMinScale = 1, ColorJitter = 0, FlipProbability = 0, GrayProbability = 0 });
        using var output = none.Augment(images);
        Assert.True(output.allclose(images, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void Greyscale_views_have_equal_channels_equal_to_the_luma()
    {
        using var images = Images();
        var grey = new BatchAugmenter(new AugmentSettings { CropMinScale = 1, ColorJitter = 0, FlipProbability = 0, GrayProbability = 1 });
        using var output = grey.Augment(images);
        using var weights = tensor(new[] { 0.299f, 0.587f, 0.114f }).view(1, 3, 1, 1);
        using var luma = images.mul(weights).sum(1, keepdim: true);
        for (int c = 0; c < 3; c++) Assert.True(output.narrow(1, c, 1).allclose(luma, rtol: 0, atol: 1e-5));
    }

    [Fact]
    public void Brightness_contrast_and_saturation_stay_in_range_and_keep_each_frame_distinct()
    {
        using var images = Images();
        var jitter = new BatchAugmenter(new AugmentSettings { CropMinScale = 1, ColorJitter = 0.4, FlipProbability = 0, GrayProbability = 0 });
        using var output = jitter.Augment(images);
        Assert.True(output.min().item<float>() >= 0 && output.max().item<float>() <= 1);
        Assert.False(output.allclose(images, rtol: 0, atol: 1e-3));
        using var difference = output.sub(images).abs().mean([1, 2, 3]);
        Assert.True(difference.max().item<float>() < 0.4f);   // a colour change, not a different picture
    }

    [Fact]
    public void A_flip_mirrors_the_frame()
    {
        using var images = Images();
        var flip = new BatchAugmenter(new AugmentSettings { CropMinScale = 1, ColorJitter = 0, FlipProbability = 1, GrayProbability = 0 });
        using var output = flip.Augment(images);
        using var mirrored = images.flip(3);
        Assert.True(output.allclose(mirrored, rtol: 0, atol: 1e-5));
    }
}

[Trait("Category", "Unit")]
public class FusedModelInputTests
{
    private static byte[] Frames(int count, int size)
    {
        var pixels = new byte[count * size * size * 3];
        new Random(3).NextBytes(pixels);
        return pixels;
    }

    [Theory]
    [InlineData(0.7, 0.0, 0.0, 0.0)]   // the default: crops only
    [InlineData(0.3, 0.4, 0.5, 0.3)]   // strong crops, flips, colour jitter and greyscale
    [InlineData(1.0, 0.0, 0.0, 0.0)]   // full-frame views: the standardised frames themselves
    public void The_one_pass_input_equals_the_one_made_from_LibTorch_operations(double cropMinScale, double jitter, double flip, double grey)
    {
        var augmenter = new BatchAugmenter(new AugmentSettings { CropMinScale = cropMinScale, ColorJitter = jitter, FlipProbability = flip, GrayProbability = grey });
        const int anchors = 5, positives = 10, size = 24;
        var pixels = Frames(anchors + positives, size);

        manual_seed(21);
        using var fused = augmenter.ModelInput(pixels, anchors, positives, size, CPU);
        manual_seed(21);
        using var composed = augmenter.ComposedModelInput(pixels, anchors, positives, size, CPU);

        Assert.Equal(composed.shape, fused.shape);
        Assert.True(BatchNormRelu.IsChannelsLast(fused));
        double worst = fused.sub(composed).abs().max().item<float>();
        Assert.True(worst < 1e-4, $"largest difference {worst}");
        // The views differ from the frames (and from each other) unless they are the whole frame.
        using var plain = FrameTensors.Normalize(FrameTensors.ToUnitRange(pixels, anchors + positives, size, CPU));
        Assert.Equal(cropMinScale == 1 && jitter == 0 && flip == 0, fused.allclose(plain, rtol: 0, atol: 1e-4));
    }
}
