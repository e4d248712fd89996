using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace VideoSsl.Learning;

/// <summary>Turns rgb24 frame bytes into the model's input: [N, 3, S, S] float on the device, normalised.</summary>
public static class FrameTensors
{
    internal static readonly float[] Mean = [0.485f, 0.456f, 0.406f];
    internal static readonly float[] Std = [0.229f, 0.224f, 0.225f];

    /// <summary>Bytes to [N, 3, S, S] floats in [0, 1] on <paramref name="device"/> (the copy to the device moves bytes, not floats).</summary>
    public static Tensor ToUnitRange(byte[] pixels, int frames, int size, Device device)
    {
        long count = (long)frames * size * size * 3;
        using var raw = frombuffer(pixels, ScalarType.Byte, count, 0);
        using var onDevice = raw.to(device);
        using var nhwc = onDevice.view(frames, size, size, 3);
        using var nchw = nhwc.permute(0, 3, 1, 2);
        return nchw.to(ScalarType.Float32).div_(255f);
    }

    /// <summary>
    /// The same images laid out channels-last in memory (NHWC strides, NCHW shape): LibTorch's CPU convolutions
    /// run faster on that layout (README, *Speed*), and the layers after follow the input's layout.
    /// TorchSharp 0.107 has no memory_format argument, so the layout is made by permuting through a copy.
    /// </summary>
    public static Tensor ChannelsLast(Tensor images)
    {
        using var nhwc = images.permute(0, 2, 3, 1).contiguous();
        return nhwc.permute(0, 3, 1, 2);
    }

    /// <summary>A contiguous float tensor's memory on the CPU, for the fused passes (valid while the tensor lives).</summary>
    internal static unsafe float* Floats(Tensor contiguous) =>
        (float*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(MemoryMarshal.Cast<byte, float>(contiguous.bytes)));

    /// <summary>Standardises [0, 1] images with the ImageNet channel statistics.</summary>
    public static Tensor Normalize(Tensor unitRange)
    {
        using var mean = tensor(Mean, device: unitRange.device).view(1, 3, 1, 1);
        using var std = tensor(Std, device: unitRange.device).view(1, 3, 1, 1);
        return unitRange.sub(mean).div_(std);
    }
}
