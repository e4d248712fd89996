using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VideoSsl.Learning;

/// <summary>
/// Random views of a whole batch at once, on the training device: a random resized crop with horizontal flip (one
/// affine grid sample for the batch), then brightness, contrast and saturation jitter and random grayscale. Every
/// frame draws its own parameters from LibTorch's seeded generator, so runs are repeatable.
/// </summary>
public sealed class BatchAugmenter
{
    private static readonly double MaxLogAspect = Math.Log(4.0 / 3.0);
    private readonly AugmentSettings _settings;

    public BatchAugmenter(AugmentSettings settings) => _settings = settings;

    /// <param name="images">[B, 3, H, W] in [0, 1].</param>
    /// <returns>[B, 3, H, W] in [0, 1].</returns>
    public Tensor Augment(Tensor images)
    {
        if (!_settings.Enabled) return images.alias();
        var cropped = RandomResizedCropAndFlip(images);
        if (_settings.ColorJitter <= 0 && _settings.GrayProbability <= 0) return cropped;
        using (cropped) return ColorJitter(cropped);
    }

    private Tensor RandomResizedCropAndFlip(Tensor images)
    {
        long b = images.shape[0];
        var device = images.device;
        using var area = Uniform(b, _settings.CropMinScale, 1, device);
        using var logAspect = Uniform(b, -MaxLogAspect, MaxLogAspect, device);
        using var aspect = logAspect.exp();
        using var width = area.mul(aspect).sqrt_().clamp_(max: 1.0);    // share of the frame's width
        using var height = area.div(aspect).sqrt_().clamp_(max: 1.0);
        using var centreX = Uniform(b, -1, 1, device).mul_(width.neg().add(1));
        using var centreY = Uniform(b, -1, 1, device).mul_(height.neg().add(1));
        using var flipDraw = rand(b, device: device);
        using var flip = where(flipDraw.lt(_settings.FlipProbability), -1.0f, 1.0f);
        using var zero = zeros(b, device: device);
        // theta maps output coordinates in [-1, 1] to input coordinates: scale by the crop size, shift to its centre.
        using var theta = stack([width.mul(flip), zero, centreX, zero, height, centreY], dim: 1).view(b, 2, 3);
        using var grid = functional.affine_grid(theta, [b, images.shape[1], images.shape[2], images.shape[3]], align_corners: false);
        return functional.grid_sample(images, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false);
    }

    private Tensor ColorJitter(Tensor images)
    {
        long b = images.shape[0];
        var device = images.device;
        double j = _settings.ColorJitter;
        using var brightness = Uniform(b, 1 - j, 1 + j, device).view(b, 1, 1, 1);
        using var contrast = Uniform(b, 1 - j, 1 + j, device).view(b, 1, 1, 1);
        using var saturationDraw = Uniform(b, 1 - j, 1 + j, device);
        using var grayDraw = rand(b, device: device);
        using var saturation = where(grayDraw.lt(_settings.GrayProbability), zeros_like(saturationDraw), saturationDraw).view(b, 1, 1, 1);

        using var bright = images.mul(brightness);
        using var luma = Luma(bright);
        using var meanLuma = luma.mean([1, 2, 3], keepdim: true);
        using var contrasted = bright.sub(meanLuma).mul_(contrast).add_(meanLuma);
        using var luma2 = Luma(contrasted);
        return contrasted.sub(luma2).mul_(saturation).add_(luma2).clamp_(0, 1);
    }

    private static Tensor Luma(Tensor rgb)
    {
        using var weights = tensor(new[] { 0.299f, 0.587f, 0.114f }, device: rgb.device).view(1, 3, 1, 1);
        return rgb.mul(weights).sum(1, keepdim: true);
    }

    private static Tensor Uniform(long count, double low, double high, Device device)
    {
        var draw = rand(count, device: device);
        return draw.mul_(high - low).add_(low);
    }
}
