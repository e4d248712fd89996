using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace VideoSsl.Learning;

/// <summary>
/// BatchNorm with batch statistics followed by ReLU, as one autograd function that passes over memory three times
/// forward and five times backward, for float32 channels-last tensors on the CPU (the training step's layout). LibTorch
/// runs the pair as five passes forward and eight backward, and on two cores that memory traffic was a fifth of the
/// step. The passes run on LibTorch's own threads (<see cref="LibTorchThreads"/>). Anything else (another device,
/// layout or type, evaluation mode, no GNU OpenMP) takes LibTorch's BatchNorm and ReLU: both paths share one set of
/// weights and running statistics, so checkpoints do not tell them apart.
/// </summary>
public static class BatchNormRelu
{
    /// <summary>relu(norm(input)), fused where <see cref="Fits"/> holds and the module is in training mode.</summary>
    public static Tensor Forward(BatchNorm2d norm, Tensor input)
    {
        if (!norm.training || !Fits(input, norm))
        {
            using var normalized = norm.forward(input);
            return nn.functional.relu(normalized);
        }
        return BatchNormReluFunction.apply(input, norm.weight!, norm.bias!, norm);
    }

    /// <summary>Whether the fused path takes this input (see the class summary).</summary>
    public static bool Fits(Tensor input, BatchNorm2d norm) =>
        input.device_type == DeviceType.CPU && input.dtype == ScalarType.Float32 && input.dim() == 4
        && norm.affine && norm.track_running_stats && norm.weight is not null && norm.bias is not null
        && input.shape[1] % Vector<float>.Count == 0 && input.shape[0] * input.shape[2] * input.shape[3] > 1
        && input.numel() * sizeof(float) <= int.MaxValue && IsChannelsLast(input) && LibTorchThreads.Available;

    /// <summary>NCHW shape over NHWC memory, as the training step lays out its images (FrameTensors.ChannelsLast).</summary>
    public static bool IsChannelsLast(Tensor t)
    {
        using var rows = t.permute(0, 2, 3, 1);
        return rows.is_contiguous();
    }

    /// <summary>A channels-last [N, C, H, W] tensor's memory as [N·H·W, C] floats (it must stay alive while they are used).</summary>
    internal static unsafe float* Rows(Tensor channelsLast)
    {
        using var rows = channelsLast.permute(0, 2, 3, 1);
        return FrameTensors.Floats(rows);
    }

    /// <summary>An uninitialised channels-last tensor of the given [N, C, H, W] shape.</summary>
    internal static Tensor EmptyChannelsLast(long[] shape)
    {
        using var rows = empty(shape[0], shape[2], shape[3], shape[1]);
        return rows.permute(0, 3, 1, 2);
    }
}

internal sealed class BatchNormReluFunction : autograd.SingleTensorFunction<BatchNormReluFunction>
{
    public override string Name => "BatchNormRelu";

    public override unsafe Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var (input, weight, bias, norm) = ((Tensor)vars[0], (Tensor)vars[1], (Tensor)vars[2], (BatchNorm2d)vars[3]);
        int channels = (int)input.shape[1];
        long rows = input.numel() / channels;
        var (mean, variance) = BatchNormReluKernels.ChannelStatistics(BatchNormRelu.Rows(input), rows, channels);

        var invStd = new float[channels];
        var scale = new float[channels];
        var shift = new float[channels];
        var gamma = weight.data<float>().ToArray();
        var beta = bias.data<float>().ToArray();
        for (int c = 0; c < channels; c++)
        {
            invStd[c] = (float)(1.0 / Math.Sqrt(variance[c] + norm.eps));
            scale[c] = gamma[c] * invStd[c];
            shift[c] = (float)(beta[c] - mean[c] * scale[c]);
        }
        var output = BatchNormRelu.EmptyChannelsLast(input.shape);
        BatchNormReluKernels.NormalizeRelu(BatchNormRelu.Rows(input), BatchNormRelu.Rows(output), rows, channels, scale, shift);
        UpdateRunningStatistics(norm, mean, variance, rows);

        ctx.save_for_backward([input]);
        ctx.save_data("mean", Array.ConvertAll(mean, m => (float)m));
        ctx.save_data("invStd", invStd);
        ctx.save_data("gamma", gamma);
        ctx.save_data("scale", scale);
        ctx.save_data("shift", shift);
        return output;
    }

    public override unsafe List<Tensor> backward(autograd.AutogradContext ctx, Tensor gradOutput)
    {
        using var input = ctx.get_saved_variables()[0];
        var mean = (float[])ctx.get_data("mean");
        var invStd = (float[])ctx.get_data("invStd");
        var gamma = (float[])ctx.get_data("gamma");
        var scale = (float[])ctx.get_data("scale");
        var shift = (float[])ctx.get_data("shift");
        int channels = (int)input.shape[1];
        long rows = input.numel() / channels;

        // The gradient arrives channels-last from the convolution after; anything else is laid out so first.
        using var gradient = BatchNormRelu.IsChannelsLast(gradOutput) ? gradOutput.alias() : FrameTensors.ChannelsLast(gradOutput);
        var (gradSum, gradCentredSum) = BatchNormReluKernels.GradientSums(
            BatchNormRelu.Rows(input), BatchNormRelu.Rows(gradient), rows, channels, scale, shift, mean);

        var gradWeight = new float[channels];
        var gradBias = new float[channels];
        var slope = new float[channels];
        var offset = new float[channels];
        var centredSlope = new float[channels];
        for (int c = 0; c < channels; c++)
        {
            gradBias[c] = (float)gradSum[c];
            gradWeight[c] = (float)(gradCentredSum[c] * invStd[c]);
            // dx = γσ⁻¹ (dz − Σdz / M − x̂ Σ(dz x̂) / M), written as slope·dz + offset − centredSlope·(x − μ).
            double a = gamma[c] * invStd[c];
            slope[c] = (float)a;
            offset[c] = (float)(-a * gradSum[c] / rows);
            centredSlope[c] = (float)(a * invStd[c] * gradWeight[c] / rows);
        }
        var gradInput = BatchNormRelu.EmptyChannelsLast(input.shape);
        BatchNormReluKernels.InputGradient(BatchNormRelu.Rows(input), BatchNormRelu.Rows(gradient), BatchNormRelu.Rows(gradInput),
            rows, channels, scale, shift, mean, slope, offset, centredSlope);
        return [gradInput, tensor(gradWeight), tensor(gradBias), null!];
    }

    /// <summary>What <c>BatchNorm2d</c> does to its running statistics in a training step (the unbiased variance, as PyTorch).</summary>
    private static void UpdateRunningStatistics(BatchNorm2d norm, double[] mean, double[] variance, long rows)
    {
        using var _ = no_grad();
        norm.num_batches_tracked!.add_(1);
        double momentum = norm.momentum ?? 1.0 / norm.num_batches_tracked.item<long>();
        double unbias = rows / (double)(rows - 1);
        using var batchMean = tensor(Array.ConvertAll(mean, m => (float)m));
        using var batchVariance = tensor(Array.ConvertAll(variance, v => (float)(v * unbias)));
        norm.running_mean!.mul_(1 - momentum).add_(batchMean, momentum);
        norm.running_var!.mul_(1 - momentum).add_(batchVariance, momentum);
    }
}

/// <summary>
/// The passes over a [rows, channels] float matrix, vectorised across channels and split by rows over LibTorch's own
/// threads. Each pass is a static method over raw pointers, so the JIT keeps its arguments in registers; captured by
/// a lambda they would be reloaded after every store.
/// </summary>
internal static unsafe class BatchNormReluKernels
{
    // Rows summed in float before the sums move to double: short enough to keep float's rounding out of the result,
    // and a block (64 rows of up to 256 channels) stays in the core's cache while each channel group passes over it.
    private const int RowsPerBlock = 64;

    /// <summary>Per-channel mean and biased variance, summed about the first row so large means do not cancel.</summary>
    public static (double[] Mean, double[] Variance) ChannelStatistics(float* x, long rows, int channels)
    {
        var reference = new float[channels];
        new ReadOnlySpan<float>(x, channels).CopyTo(reference);
        var (sum, squares) = SumOverRowRanges(rows, channels, (start, end, sumPart, squaresPart) =>
        {
            fixed (float* referencePtr = reference)
                StatisticsRows(x, referencePtr, start, end, channels, sumPart, squaresPart);
        });
        var mean = new double[channels];
        var variance = new double[channels];
        for (int c = 0; c < channels; c++)
        {
            double shifted = sum[c] / rows;
            mean[c] = reference[c] + shifted;
            variance[c] = Math.Max(0, squares[c] / rows - shifted * shifted);
        }
        return (mean, variance);
    }

    public static void NormalizeRelu(float* x, float* y, long rows, int channels, float[] scale, float[] shift) =>
        ForRowRanges(rows, (_, start, end) =>
        {
            fixed (float* scalePtr = scale, shiftPtr = shift)
                NormalizeReluRows(x, y, scalePtr, shiftPtr, start, end, channels);
        });

    /// <summary>Σ dz and Σ dz·(x − μ) per channel, dz being the output gradient where the ReLU passed its input.</summary>
    public static (double[] Sum, double[] CentredSum) GradientSums(float* x, float* dy, long rows, int channels,
        float[] scale, float[] shift, float[] mean) =>
        SumOverRowRanges(rows, channels, (start, end, sumPart, centredPart) =>
        {
            fixed (float* scalePtr = scale, shiftPtr = shift, meanPtr = mean)
                GradientSumRows(x, dy, scalePtr, shiftPtr, meanPtr, start, end, channels, sumPart, centredPart);
        });

    public static void InputGradient(float* x, float* dy, float* dx, long rows, int channels, float[] scale, float[] shift,
        float[] mean, float[] slope, float[] offset, float[] centredSlope) =>
        ForRowRanges(rows, (_, start, end) =>
        {
            fixed (float* scalePtr = scale, shiftPtr = shift, meanPtr = mean, slopePtr = slope, offsetPtr = offset, centredSlopePtr = centredSlope)
                InputGradientRows(x, dy, dx, scalePtr, shiftPtr, meanPtr, slopePtr, offsetPtr, centredSlopePtr, start, end, channels);
        });

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void StatisticsRows(float* x, float* reference, long start, long end, int channels, double[] sum, double[] squares)
    {
        int width = Vector<float>.Count;
        for (long block = start; block < end; block += RowsPerBlock)
        {
            long blockEnd = Math.Min(end, block + RowsPerBlock);
            for (int c = 0; c < channels; c += width)
            {
                var shift = Load(reference + c);
                Vector<float> sum0 = default, sum1 = default, squares0 = default, squares1 = default;
                float* p = x + block * channels + c;
                long r = block;
                // Two rows a turn: two independent chains of additions instead of one.
                for (; r + 1 < blockEnd; r += 2, p += 2 * channels)
                {
                    var d0 = Load(p) - shift;
                    var d1 = Load(p + channels) - shift;
                    sum0 += d0;
                    squares0 += d0 * d0;
                    sum1 += d1;
                    squares1 += d1 * d1;
                }
                if (r < blockEnd)
                {
                    var d0 = Load(p) - shift;
                    sum0 += d0;
                    squares0 += d0 * d0;
                }
                AddTo(sum, c, sum0 + sum1);
                AddTo(squares, c, squares0 + squares1);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NormalizeReluRows(float* x, float* y, float* scale, float* shift, long start, long end, int channels)
    {
        int width = Vector<float>.Count;
        for (long r = start; r < end; r++)
        {
            float* input = x + r * channels, output = y + r * channels;
            for (int c = 0; c < channels; c += width)
                StoreStreaming(output + c, Vector.Max(Load(input + c) * Load(scale + c) + Load(shift + c), Vector<float>.Zero));
        }
        FenceStreamingStores();
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void GradientSumRows(float* x, float* dy, float* scale, float* shift, float* mean, long start, long end,
        int channels, double[] sum, double[] centred)
    {
        int width = Vector<float>.Count;
        for (long block = start; block < end; block += RowsPerBlock)
        {
            long blockEnd = Math.Min(end, block + RowsPerBlock);
            for (int c = 0; c < channels; c += width)
            {
                var (scaleC, shiftC, meanC) = (Load(scale + c), Load(shift + c), Load(mean + c));
                Vector<float> sum0 = default, sum1 = default, centred0 = default, centred1 = default;
                long offset = block * channels + c;
                long r = block;
                for (; r + 1 < blockEnd; r += 2, offset += 2 * channels)
                {
                    var v0 = Load(x + offset);
                    var v1 = Load(x + offset + channels);
                    var dz0 = PassedGradient(v0, Load(dy + offset), scaleC, shiftC);
                    var dz1 = PassedGradient(v1, Load(dy + offset + channels), scaleC, shiftC);
                    sum0 += dz0;
                    centred0 += dz0 * (v0 - meanC);
                    sum1 += dz1;
                    centred1 += dz1 * (v1 - meanC);
                }
                if (r < blockEnd)
                {
                    var v0 = Load(x + offset);
                    var dz0 = PassedGradient(v0, Load(dy + offset), scaleC, shiftC);
                    sum0 += dz0;
                    centred0 += dz0 * (v0 - meanC);
                }
                AddTo(sum, c, sum0 + sum1);
                AddTo(centred, c, centred0 + centred1);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void InputGradientRows(float* x, float* dy, float* dx, float* scale, float* shift, float* mean,
        float* slope, float* offset, float* centredSlope, long start, long end, int channels)
    {
        int width = Vector<float>.Count;
        for (long r = start; r < end; r++)
        {
            long row = r * channels;
            for (int c = 0; c < channels; c += width)
            {
                var v = Load(x + row + c);
                var dz = PassedGradient(v, Load(dy + row + c), Load(scale + c), Load(shift + c));
                StoreStreaming(dx + row + c, dz * Load(slope + c) + Load(offset + c) - (v - Load(mean + c)) * Load(centredSlope + c));
            }
        }
        FenceStreamingStores();
    }

    /// <summary>The ReLU's backward: the gradient where the normalised input was positive (as LibTorch: 0 at 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> PassedGradient(Vector<float> x, Vector<float> dy, Vector<float> scale, Vector<float> shift) =>
        Vector.ConditionalSelect(Vector.GreaterThan(x * scale + shift, Vector<float>.Zero), dy, Vector<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Load(float* p) => Unsafe.ReadUnaligned<Vector<float>>(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* p, Vector<float> v) => Unsafe.WriteUnaligned(p, v);

    /// <summary>
    /// A store that skips the cache where the hardware has one for this width: the outputs are tens of megabytes,
    /// more than the cache keeps, and an ordinary store first reads each line it writes (README, *Speed*).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreStreaming(float* p, Vector<float> v)
    {
        if (Vector<float>.Count == 8 && Vector256.IsHardwareAccelerated && ((nint)p & 31) == 0)
            Vector256.StoreAlignedNonTemporal(Vector256.AsVector256(v), p);
        else Unsafe.WriteUnaligned(p, v);
    }

    /// <summary>Streaming stores are weakly ordered: fenced before the range counts as written.</summary>
    private static void FenceStreamingStores()
    {
        if (Sse.IsSupported) Sse.StoreFence();
    }

    private static void AddTo(double[] totals, int start, Vector<float> values)
    {
        for (int i = 0; i < Vector<float>.Count; i++) totals[start + i] += values[i];
    }

    private static int Parts(long rows) => LibTorchThreads.Parts(rows, RowsPerBlock);

    /// <summary>Splits the rows into one contiguous range per LibTorch thread and runs them on LibTorch's threads.</summary>
    private static void ForRowRanges(long rows, Action<int, long, long> body) => LibTorchThreads.ForEachRange(rows, Parts(rows), body);

    /// <summary>Two per-channel sums, each range adding into its own pair of arrays, added up at the end.</summary>
    private static (double[], double[]) SumOverRowRanges(long rows, int channels, Action<long, long, double[], double[]> body)
    {
        int parts = Parts(rows);
        var first = new double[parts][];
        var second = new double[parts][];
        ForRowRanges(rows, (part, start, end) =>
        {
            (first[part], second[part]) = (new double[channels], new double[channels]);
            body(start, end, first[part], second[part]);
        });
        for (int part = 1; part < parts; part++)
            for (int c = 0; c < channels; c++)
            {
                first[0][c] += first[part][c];
                second[0][c] += second[part][c];
            }
        return (first[0], second[0]);
    }
}
