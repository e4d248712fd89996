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
        // The aspect ratio varies up to 4:3 either way, but never so far that the crop would leave the frame
        // (which a clamp would turn into a smaller, differently shaped crop): a full-frame crop keeps its shape.
        using var maxLogAspect = area.log().neg_().clamp_(max: MaxLogAspect);
        using var logAspect = Uniform(b, -1, 1, device).mul_(maxLogAspect);
        using var aspect = logAspect.exp();
        using var width = area.mul(aspect).sqrt_();     // share of the frame's width
        using var height = area.div(aspect).sqrt_();
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

    /// <summary>
    /// Brightness b, contrast c and saturation s (0 for greyscale) are all linear in RGB, so the three make one
    /// 3x3 colour matrix per frame plus an offset: x' = c b (s I + (1 - s) 1 w^T) x + (1 - c) b m, with w the luma
    /// weights and m the frame's mean luma. One batched matrix product replaces a dozen passes over the pixels.
    /// </summary>
    private Tensor ColorJitter(Tensor images)
    {
        long b = images.shape[0];
        var device = images.device;
        double j = _settings.ColorJitter;
        using var brightness = Uniform(b, 1 - j, 1 + j, device);
        using var contrast = Uniform(b, 1 - j, 1 + j, device);
        using var saturationDraw = Uniform(b, 1 - j, 1 + j, device);
        using var grayDraw = rand(b, device: device);
        using var saturation = where(grayDraw.lt(_settings.GrayProbability), zeros_like(saturationDraw), saturationDraw);

        using var weights = tensor(new[] { 0.299f, 0.587f, 0.114f }, device: device);
        using var flat = images.view(b, 3, -1);
        using var meanLuma = flat.mean([2]).matmul(weights);                                   // [B]
        using var identity = eye(3, device: device).unsqueeze(0);                             // [1, 3, 3]
        using var toLuma = ones(3, 1, device: device).mm(weights.unsqueeze(0)).unsqueeze(0);   // [1, 3, 3], rows = w
        using var s3 = saturation.view(b, 1, 1);
        using var mix = identity.mul(s3).add_(toLuma.mul(s3.neg().add(1)));                   // s I + (1 - s) 1 w^T
        using var scale = contrast.mul(brightness).view(b, 1, 1);
        using var matrix = mix.mul_(scale);
        using var offset = contrast.neg().add(1).mul_(brightness).mul_(meanLuma).view(b, 1, 1);
        using var mixed = matrix.bmm(flat).add_(offset);
        return mixed.view(images.shape).clamp_(0, 1);
    }

    private static Tensor Uniform(long count, double low, double high, Device device)
    {
        var draw = rand(count, device: device);
        return draw.mul_(high - low).add_(low);
    }
}
