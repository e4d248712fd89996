using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchSharp;
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

    private bool Jitters => _settings.ColorJitter > 0 || _settings.GrayProbability > 0;

    /// <param name="images">[B, 3, H, W] in [0, 1].</param>
    /// <returns>[B, 3, H, W] in [0, 1].</returns>
    public Tensor Augment(Tensor images)
    {
        if (!_settings.Enabled) return images.alias();
        using var views = DrawViews(images.shape[0], images.device);
        var cropped = Crop(images, views);
        if (views.ColourMatrix is null) return cropped;
        using (cropped) return Recolour(cropped, views);
    }

    /// <summary>
    /// The model's input for a batch of rgb24 frames (anchors first, then positives): each group augmented as
    /// <see cref="Augment"/> does, standardised, channels-last. On the CPU it is made in one pass from the bytes
    /// (<see cref="FusedViews"/>); through LibTorch the conversion, crop, colour, standardisation and layout took a
    /// dozen passes over the batch and several times as long (README, *Speed*).
    /// </summary>
    public Tensor ModelInput(byte[] pixels, int anchors, int positives, int size, Device device) =>
        device.type == DeviceType.CPU && _settings.Enabled && LibTorchThreads.Available
            ? FusedModelInput(pixels, anchors, positives, size)
            : ComposedModelInput(pixels, anchors, positives, size, device);

    /// <summary>The same input made from LibTorch operations (any device; the reference the fused pass is tested against).</summary>
    public Tensor ComposedModelInput(byte[] pixels, int anchors, int positives, int size, Device device)
    {
        using var frames = FrameTensors.ToUnitRange(pixels, anchors + positives, size, device);
        using var anchorFrames = frames.narrow(0, 0, anchors);
        using var positiveFrames = frames.narrow(0, anchors, positives);
        using var anchorViews = Augment(anchorFrames);
        using var positiveViews = Augment(positiveFrames);
        using var both = cat([anchorViews, positiveViews], 0);
        using var standardised = FrameTensors.Normalize(both);
        return FrameTensors.ChannelsLast(standardised);
    }

    private unsafe Tensor FusedModelInput(byte[] pixels, int anchors, int positives, int size)
    {
        // Drawn in the order Augment draws them (the anchors' crops, their colours, then the positives'), so the
        // random stream, and with it a seeded run, is the one the composed path gives.
        using var anchorViews = DrawViews(anchors, CPU);
        using var positiveViews = DrawViews(positives, CPU);
        var parameters = FusedViews.Parameters.From(anchorViews, positiveViews);
        var output = empty(anchors + positives, size, size, 3);
        fixed (byte* source = pixels)
            FusedViews.Render(source, FrameTensors.Floats(output), anchors + positives, size, parameters);
        return output.permute(0, 3, 1, 2);
    }

    private Views DrawViews(long b, Device device)
    {
        var theta = DrawCrops(b, device);
        if (!Jitters) return new Views(theta, null, null);
        var (matrix, offsetScale) = DrawColours(b, device);
        return new Views(theta, matrix, offsetScale);
    }

    /// <summary>[B, 2, 3] affine maps from output coordinates in [-1, 1] to input coordinates: crop size, centre, flip.</summary>
    private Tensor DrawCrops(long b, Device device)
    {
        using var area = Uniform(b, _settings.CropMinScale, 1, device);
        // The aspect ratio varies up to 4:3 either way, but never so far that the crop would leave the frame
        // (which a clamp would turn into a smaller, differently shaped crop): a full-frame crop keeps its shape.
        using var maxLogAspect = area.log().neg_().clamp_(max: MaxLogAspect);
        using var logAspect = Uniform(b, -1, 1, device).mul_(maxLogAspect);
        using var aspect = logAspect.exp();
        using var width = area.mul(aspect).sqrt_();     // share of the frame's width
        using var height = area.div(aspect).sqrt_();
        using Scalar one = 1;
        using var centreX = Uniform(b, -1, 1, device).mul_(width.neg().add(one));
        using var centreY = Uniform(b, -1, 1, device).mul_(height.neg().add(one));
        using var flipDraw = rand(b, device: device);
        using var flip = where(flipDraw.lt(_settings.FlipProbability), -1.0f, 1.0f);
        using var zero = zeros(b, device: device);
        return stack([width.mul(flip), zero, centreX, zero, height, centreY], dim: 1).view(b, 2, 3);
    }

    /// <summary>
    /// Brightness b, contrast c and saturation s (0 for greyscale) are all linear in RGB, so the three make one
    /// 3x3 colour matrix per frame plus an offset: x' = c b (s I + (1 - s) 1 w^T) x + (1 - c) b m, with w the luma
    /// weights and m the frame's mean luma. Returns the matrices [B, 3, 3] and the offsets' factors (1 - c) b [B].
    /// </summary>
    private (Tensor Matrix, Tensor OffsetScale) DrawColours(long b, Device device)
    {
        double j = _settings.ColorJitter;
        using var brightness = Uniform(b, 1 - j, 1 + j, device);
        using var contrast = Uniform(b, 1 - j, 1 + j, device);
        using var saturationDraw = Uniform(b, 1 - j, 1 + j, device);
        using var grayDraw = rand(b, device: device);
        using var saturation = where(grayDraw.lt(_settings.GrayProbability), zeros_like(saturationDraw), saturationDraw);
        using var weights = tensor(FusedViews.LumaWeights, device: device);
        using var identity = eye(3, device: device).unsqueeze(0);                             // [1, 3, 3]
        using var toLuma = ones(3, 1, device: device).mm(weights.unsqueeze(0)).unsqueeze(0);   // [1, 3, 3], rows = w
        using var s3 = saturation.view(b, 1, 1);
        using var mix = identity.mul(s3).add_(toLuma.mul(s3.neg().add(1)));                   // s I + (1 - s) 1 w^T
        using var scale = contrast.mul(brightness).view(b, 1, 1);
        return (mix.mul(scale), contrast.neg().add(1).mul_(brightness));
    }

    private static Tensor Crop(Tensor images, Views views)
    {
        using var grid = functional.affine_grid(views.Theta, [images.shape[0], images.shape[1], images.shape[2], images.shape[3]], align_corners: false);
        return functional.grid_sample(images, grid, GridSampleMode.Bilinear, GridSamplePaddingMode.Border, align_corners: false);
    }

    /// <summary>One batched matrix product replaces a dozen passes over the pixels.</summary>
    private static Tensor Recolour(Tensor images, Views views)
    {
        long b = images.shape[0];
        using var weights = tensor(FusedViews.LumaWeights, device: images.device);
        using var flat = images.view(b, 3, -1);
        using var meanLuma = flat.mean([2]).matmul(weights);                                   // [B]
        using var offset = views.OffsetScale!.mul(meanLuma).view(b, 1, 1);
        using var mixed = views.ColourMatrix!.bmm(flat).add_(offset);
        return mixed.view(images.shape).clamp_(0, 1);
    }

    private static Tensor Uniform(long count, double low, double high, Device device)
    {
        // Scalars held until the calls return: a double converted on the fly becomes a Scalar that nothing references
        // during the native call, so the GC's finalizer may free it mid-call (seen once: "toFloat ... Expected false to be true").
        using Scalar range = high - low, offset = low;
        var draw = rand(count, device: device);
        return draw.mul_(range).add_(offset);
    }

    private sealed record Views(Tensor Theta, Tensor? ColourMatrix, Tensor? OffsetScale) : IDisposable
    {
        public void Dispose()
        {
            Theta.Dispose();
            ColourMatrix?.Dispose();
            OffsetScale?.Dispose();
        }
    }

    /// <summary>
    /// The views rendered straight from rgb24 bytes into the model's standardised channels-last input, one frame at a
    /// time on LibTorch's threads: bilinear sampling as grid_sample does it (align_corners false, border padding),
    /// then the colour matrix, the clamp to [0, 1] and the ImageNet standardisation.
    /// </summary>
    private static unsafe class FusedViews
    {
        public static readonly float[] LumaWeights = [0.299f, 0.587f, 0.114f];

        public sealed record Parameters(float[] Theta, float[]? ColourMatrix, float[]? OffsetScale)
        {
            public static Parameters From(Views first, Views second) => new(
                Concatenate(first.Theta, second.Theta),
                first.ColourMatrix is null ? null : Concatenate(first.ColourMatrix, second.ColourMatrix!),
                first.OffsetScale is null ? null : Concatenate(first.OffsetScale, second.OffsetScale!));

            private static float[] Concatenate(Tensor a, Tensor b) => [.. a.data<float>().ToArray(), .. b.data<float>().ToArray()];
        }

        public static void Render(byte* source, float* output, int frames, int size, Parameters parameters)
        {
            LibTorchThreads.ForEachRange(frames, LibTorchThreads.Parts(frames, 1), (_, first, end) =>
            {
                // Two RGBA float images of one frame (the source, then its view): 16-byte pixels, one vector each.
                var scratch = ArrayPool<float>.Shared.Rent(2 * size * size * 4 + 4);
                try
                {
                    fixed (float* buffer = scratch)
                    {
                        // Aligned to 16 bytes so that no pixel straddles a cache line.
                        float* aligned = (float*)(((nint)buffer + 15) & ~(nint)15);
                        for (int f = (int)first; f < end; f++)
                            RenderFrame(source + (long)f * size * size * 3, output + (long)f * size * size * 3, f, size, parameters,
                                aligned, aligned + size * size * 4);
                    }
                }
                finally
                {
                    ArrayPool<float>.Shared.Return(scratch);
                }
            });
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private static void RenderFrame(byte* source, float* output, int frame, int size, Parameters parameters, float* rgba, float* view)
        {
            int pixels = size * size;
            // Each source pixel to floats once (the sampling below reads each about four times).
            for (int p = 0; p < pixels - 1; p++)
            {
                // Four bytes: this pixel's r, g, b and the next one's r, which lands in the unused fourth lane.
                var bytes = Vector128.CreateScalarUnsafe(Unsafe.ReadUnaligned<uint>(source + p * 3)).AsByte();
                var words = Vector128.WidenLower(bytes);
                Vector128.Store(Vector128.ConvertToSingle(Vector128.WidenLower(words).AsInt32()), rgba + p * 4);
            }
            int last = (pixels - 1) * 3;   // read byte by byte: four bytes would run past the end of the batch
            Vector128.Store(Vector128.Create(source[last], source[last + 1], source[last + 2], 0f), rgba + (pixels - 1) * 4);

            var theta = parameters.Theta.AsSpan(frame * 6, 6);
            Span<int> x0 = stackalloc int[size], x1 = stackalloc int[size], y0 = stackalloc int[size], y1 = stackalloc int[size];
            Span<float> wx = stackalloc float[size], wy = stackalloc float[size];
            SourceTaps(theta[0], theta[2], size, x0, x1, wx);
            SourceTaps(theta[4], theta[5], size, y0, y1, wy);

            bool recolour = parameters.ColourMatrix is not null;
            var scale = Vector128.Create(1 / FrameTensors.Std[0], 1 / FrameTensors.Std[1], 1 / FrameTensors.Std[2], 0);
            var shift = -Vector128.Create(FrameTensors.Mean[0], FrameTensors.Mean[1], FrameTensors.Mean[2], 0) * scale;
            // Without a colour change the samples are standardised on the way out; with one they wait in the view
            // image, since the colour offset needs the whole view's mean luma.
            var sampleScale = recolour ? Vector128.Create(1f) : scale * (1f / 255);
            var sampleShift = recolour ? Vector128<float>.Zero : shift;
            var sum = Vector128<float>.Zero;
            for (int i = 0; i < size; i++)
            {
                float* top = rgba + y0[i] * size * 4, bottom = rgba + y1[i] * size * 4;
                var down = Vector128.Create(wy[i]);
                for (int j = 0; j < size; j++)
                {
                    var across = Vector128.Create(wx[j]);
                    var topLeft = Vector128.Load(top + x0[j] * 4);
                    var bottomLeft = Vector128.Load(bottom + x0[j] * 4);
                    var upper = topLeft + (Vector128.Load(top + x1[j] * 4) - topLeft) * across;
                    var lower = bottomLeft + (Vector128.Load(bottom + x1[j] * 4) - bottomLeft) * across;
                    var value = upper + (lower - upper) * down;
                    int p = i * size + j;
                    if (recolour)
                    {
                        Vector128.Store(value, view + p * 4);
                        sum += value;
                    }
                    else StorePixel(output, p, pixels, value * sampleScale + sampleShift);
                }
            }
            if (!recolour) return;

            double meanLuma = (sum[0] * LumaWeights[0] + sum[1] * LumaWeights[1] + sum[2] * LumaWeights[2]) / (255.0 * pixels);
            var m = parameters.ColourMatrix.AsSpan(frame * 9, 9);
            // Columns of the colour matrix, for the view in 0-255 units: out = r·col0 + g·col1 + b·col2 + offset.
            var column0 = Vector128.Create(m[0], m[3], m[6], 0) * (1f / 255);
            var column1 = Vector128.Create(m[1], m[4], m[7], 0) * (1f / 255);
            var column2 = Vector128.Create(m[2], m[5], m[8], 0) * (1f / 255);
            var offset = Vector128.Create((float)(parameters.OffsetScale![frame] * meanLuma));
            var one = Vector128.Create(1f);
            for (int p = 0; p < pixels; p++)
            {
                var value = Vector128.Load(view + p * 4);
                var mixed = column0 * Vector128.Create(value.GetElement(0)) + column1 * Vector128.Create(value.GetElement(1))
                    + column2 * Vector128.Create(value.GetElement(2)) + offset;
                StorePixel(output, p, pixels, Vector128.Min(Vector128.Max(mixed, Vector128<float>.Zero), one) * scale + shift);
            }
        }

        /// <summary>
        /// Writes a pixel's three channels with one four-float store whose fourth lands on the next pixel, which is
        /// written after it; the frame's last pixel is written channel by channel, as another thread may own the next.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        private static void StorePixel(float* output, int pixel, int pixels, Vector128<float> value)
        {
            if (pixel < pixels - 1) Vector128.Store(value, output + pixel * 3);
            else
            {
                output[pixel * 3] = value.GetElement(0);
                output[pixel * 3 + 1] = value.GetElement(1);
                output[pixel * 3 + 2] = value.GetElement(2);
            }
        }

        /// <summary>
        /// For each output column (or row) the two source pixels and the weight of the second: the output pixel's
        /// centre in [-1, 1], mapped by the affine scale and shift, to source pixels (align_corners false), clipped
        /// to the border.
        /// </summary>
        private static void SourceTaps(float scale, float shift, int size, Span<int> first, Span<int> second, Span<float> weight)
        {
            for (int j = 0; j < size; j++)
            {
                float normalized = (2 * j + 1) / (float)size - 1;
                float source = Math.Clamp(((scale * normalized + shift + 1) * size - 1) / 2, 0, size - 1);
                int floor = (int)MathF.Floor(source);
                first[j] = floor;
                second[j] = Math.Min(floor + 1, size - 1);
                weight[j] = source - floor;
            }
        }
    }
}
