using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VideoSsl.Learning.Backbones;

/// <summary>
/// Conv blocks of 3x3, stride 2, BatchNorm and ReLU, one block a stage: small and fast (the live demo's encoder,
/// the bench twins'). Parameters are named conv0, norm0, ... as checkpoints and the PyTorch export expect.
/// </summary>
public sealed class SmallBackbone : Backbone
{
    private readonly Conv2d[] _convolutions;
    private readonly BatchNorm2d[] _norms;

    public SmallBackbone(int[] channels) : base(nameof(SmallBackbone))
    {
        _convolutions = new Conv2d[channels.Length];
        _norms = new BatchNorm2d[channels.Length];
        long channelsIn = 3;
        for (int i = 0; i < channels.Length; i++)
        {
            _convolutions[i] = Conv2d(channelsIn, channels[i], kernel_size: 3, stride: 2, padding: 1, bias: false);
            _norms[i] = BatchNorm2d(channels[i]);
            register_module($"conv{i}", _convolutions[i]);
            register_module($"norm{i}", _norms[i]);
            channelsIn = channels[i];
        }
        StageChannels = channels.Select(c => (long)c).ToArray();
    }

    public override long[] StageChannels { get; }

    public override Tensor Stage(int index, Tensor input)
    {
        using var convolved = _convolutions[index].forward(input);
        return BatchNormRelu.Forward(_norms[index], convolved);
    }

    public override IEnumerable<Module> StageModules(int index) => [_convolutions[index], _norms[index]];

    /// <summary>FLOPs of each stage's forward pass on one frame of the given side.</summary>
    public static double[] StageFlops(int[] channels, int side)
    {
        var flops = new double[channels.Length];
        for (int i = 0; i < channels.Length; i++)
        {
            side = (side + 1) / 2;   // 3x3, stride 2, padding 1
            flops[i] = ConvFlops(i == 0 ? 3 : channels[i - 1], channels[i], 3, side);
        }
        return flops;
    }
}
