using System.Text.Json.Serialization;
using TorchSharp;
using VideoSsl.Engine;
using static TorchSharp.torch;

namespace VideoSsl.Learning;

/// <summary>Where the model runs, as asked for: <c>auto</c> (CUDA when LibTorch sees a GPU, else the CPU), <c>cpu</c> or <c>cuda</c>.</summary>
[JsonConverter(typeof(ChoiceConverter<DeviceChoice>))]
public enum DeviceChoice
{
    Auto,
    Cpu,
    Cuda,
}

/// <summary>Loads LibTorch once and picks the device the user asked for.</summary>
public static class ComputeDevice
{
    /// <summary>auto picks CUDA when LibTorch can see a GPU, else the CPU; cuda without a GPU is an error.</summary>
    public static Device Resolve(DeviceChoice requested)
    {
        EnsureLibTorch();
        return requested switch
        {
            DeviceChoice.Cpu => CPU,
            DeviceChoice.Cuda when cuda.is_available() => CUDA,
            DeviceChoice.Cuda => throw new UserError(
                "device 'cuda': LibTorch sees no CUDA GPU (the default build uses the CPU backend; build with -p:TorchBackend=cuda-linux, cuda-windows or external)"),
            _ => cuda.is_available() ? CUDA : CPU,
        };
    }

    /// <summary>Seeds LibTorch's generators so that weights and augmentations repeat.</summary>
    public static void Seed(long seed)
    {
        EnsureLibTorch();
        random.manual_seed(seed);
        if (cuda.is_available()) cuda.manual_seed_all(seed);
    }

    public static void EnsureLibTorch()
    {
        try
        {
            _ = torch.get_num_threads();
        }
        catch (Exception e) when (e is TypeInitializationException or NotSupportedException or DllNotFoundException)
        {
            var cause = e;
            while (cause.InnerException is not null) cause = cause.InnerException;
            throw new UserError($"LibTorch could not be loaded ({cause.Message.Split('\n')[0]}); see README, Troubleshooting", e);
        }
    }
}
