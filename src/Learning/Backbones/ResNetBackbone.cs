using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VideoSsl.Learning.Backbones;

/// <summary>
/// The ResNet-18 of ML.NET's ImageNet featurizer (<c>ResNet18.onnx</c>): a 7x7 stride-2 stem with 3x3 max pooling,
/// then residual blocks of two 3x3 convolutions in four stages of 64, 128, 256 and 512 channels, with 2, 2, 2 and 3
/// blocks (one more in the last stage than torchvision's ResNet-18), a 1x1 stride-2 projection on the shortcut
/// where a stage begins. Stage 0 here is the input conversion, the stem and the first stage's blocks.
/// <para>
/// The ONNX graph pads its stride-2 convolutions and the max pool CNTK-style, one or three pixels before and one
/// fewer after; on a map of even side that covers exactly the windows symmetric padding covers, so the
/// convolutions here pad symmetrically and the input side must be a multiple of 32 (every stride-2 layer then
/// sees an even map; <see cref="ResNetBackbone.Problem"/>).
/// </para>
/// <para>
/// Input: the ImageNet-standardised RGB frames every backbone takes, turned into what the ONNX model was trained
/// on: BGR in 0-255 minus a 224x224 mean image (its preprocessing graph), resized to the input's side.
/// </para>
/// </summary>
public sealed class ResNetBackbone : Backbone
{
    /// <summary>Blocks per stage, as in the ONNX model.</summary>
    public static readonly int[] BlocksPerStage = [2, 2, 2, 3];

    public static readonly long[] Channels = [64, 128, 256, 512];

    /// <summary>The side of the ONNX model's mean image and the input it was made for.</summary>
    public const int NativeSide = 224;

    private readonly Conv2d stem_conv;
    private readonly BatchNorm2d stem_norm;
    private readonly ResidualBlock[][] _stages;
    private const string MeanImageName = "mean_image";
    private Tensor? _meanAtSide;

    public ResNetBackbone() : base(nameof(ResNetBackbone))
    {
        stem_conv = Conv2d(3, 64, kernel_size: 7, stride: 2, padding: 3, bias: false);
        stem_norm = BatchNorm2d(64);
        // Until ImageNet weights are loaded: the mean of ImageNet pixels in 0-255, BGR.
        register_module(nameof(stem_conv), stem_conv);
        register_module(nameof(stem_norm), stem_norm);
        // A buffer, not a field: moving the module to a device replaces it. Until ImageNet weights are loaded it
        // holds the mean of ImageNet's pixels, BGR in 0-255.
        register_buffer(MeanImageName, tensor(new float[] { 103.939f, 116.779f, 123.68f }).view(1, 3, 1, 1).expand(1, 3, NativeSide, NativeSide).contiguous());
        _stages = new ResidualBlock[BlocksPerStage.Length][];
        long channelsIn = 64;
        for (int s = 0; s < BlocksPerStage.Length; s++)
        {
            _stages[s] = new ResidualBlock[BlocksPerStage[s]];
            for (int b = 0; b < BlocksPerStage[s]; b++)
            {
                int stride = s > 0 && b == 0 ? 2 : 1;
                _stages[s][b] = new ResidualBlock(channelsIn, Channels[s], stride);
                register_module($"layer{s + 1}_{b}", _stages[s][b]);
                channelsIn = Channels[s];
            }
        }
    }

    public override long[] StageChannels => Channels;

    /// <summary>Why an input side does not fit this topology, or null.</summary>
    public static string? Problem(int side) =>
        side % 32 == 0 && side >= 64 ? null : $"the resnet18 backbone needs a frame size that is a multiple of 32, at least 64 (got {side})";

    public override Tensor Stage(int index, Tensor input)
    {
        if (index > 0) return Blocks(index, input);
        using var converted = OnnxInput(input);
        using var convolved = stem_conv.forward(converted);
        using var activated = BatchNormRelu.Forward(stem_norm, convolved);
        using var pooled = functional.max_pool2d(activated, kernel_size: 3, stride: 2, padding: 1);
        return Blocks(0, pooled);
    }

    private Tensor Blocks(int stage, Tensor input)
    {
        var map = input;
        foreach (var block in _stages[stage])
        {
            var next = block.forward(map);
            if (!ReferenceEquals(map, input)) map.Dispose();
            map = next;
        }
        return map;
    }

    /// <summary>ImageNet-standardised RGB to BGR 0-255 minus the mean image, at the input's side.</summary>
    private Tensor OnnxInput(Tensor standardised)
    {
        int side = (int)standardised.shape[2];
        if (_meanAtSide is null || _meanAtSide.shape[2] != side || _meanAtSide.shape[3] != standardised.shape[3] || _meanAtSide.device != standardised.device)
        {
            _meanAtSide?.Dispose();
            using var noGrad = no_grad();
            var buffer = get_buffer(MeanImageName)!;
            using var mean = buffer.device == standardised.device ? buffer.alias() : buffer.to(standardised.device);
            _meanAtSide = side == NativeSide && standardised.shape[3] == NativeSide
                ? mean.clone()
                : functional.interpolate(mean, [standardised.shape[2], standardised.shape[3]], mode: InterpolationMode.Bilinear, align_corners: false);
            _meanAtSide = _meanAtSide.DetachFromDisposeScope();
        }
        // x = (rgb/255 - m) / s per channel, so rgb = x·255s + 255m; BGR is the channels reversed.
        using var scale = tensor(FrameTensors.Std.Reverse().Select(s => s * 255f).ToArray(), device: standardised.device).view(1, 3, 1, 1);
        using var shift = tensor(FrameTensors.Mean.Reverse().Select(m => m * 255f).ToArray(), device: standardised.device).view(1, 3, 1, 1);
        using var bgr = standardised.flip(1);
        return bgr.mul(scale).add_(shift).sub_(_meanAtSide);
    }

    /// <summary>The stage's modules, for freezing: stage 0 holds the stem as well.</summary>
    public override IEnumerable<Module> StageModules(int index) =>
        index == 0 ? [stem_conv, stem_norm, .. _stages[0]] : _stages[index];

    /// <summary>FLOPs of each stage's forward pass on one frame of the given side.</summary>
    public static double[] StageFlops(int side)
    {
        var flops = new double[Channels.Length];
        side /= 2;
        flops[0] = ConvFlops(3, 64, 7, side);
        side /= 2;   // max pool
        long channelsIn = 64;
        for (int s = 0; s < Channels.Length; s++)
        for (int b = 0; b < BlocksPerStage[s]; b++)
        {
            bool down = s > 0 && b == 0;
            if (down) side /= 2;
            flops[s] += ConvFlops(channelsIn, Channels[s], 3, side) + ConvFlops(Channels[s], Channels[s], 3, side);
            if (down) flops[s] += ConvFlops(channelsIn, Channels[s], 1, side);
            channelsIn = Channels[s];
        }
        return flops;
    }

    /// <summary>Every convolution with the BatchNorm after it, in a fixed order (how <see cref="ImageNetWeights"/> loads them).</summary>
    internal IEnumerable<(string Name, Conv2d Conv, BatchNorm2d Norm)> Layers()
    {
        yield return ("stem", stem_conv, stem_norm);
        for (int s = 0; s < _stages.Length; s++)
        for (int b = 0; b < _stages[s].Length; b++)
            foreach (var (part, conv, norm) in _stages[s][b].Layers())
                yield return ($"layer{s + 1}_{b}.{part}", conv, norm);
    }

    internal void SetMeanImage(float[] bgr)
    {
        using var noGrad = no_grad();
        using var source = tensor(bgr).view(1, 3, NativeSide, NativeSide);
        get_buffer(MeanImageName)!.copy_(source);
        _meanAtSide?.Dispose();
        _meanAtSide = null;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _meanAtSide?.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>conv 3x3 (stride), BatchNorm, ReLU, conv 3x3, BatchNorm, plus the shortcut (a 1x1 stride-2 projection and BatchNorm where the map shrinks), ReLU.</summary>
internal sealed class ResidualBlock : Module<Tensor, Tensor>
{
    private readonly Conv2d conv1, conv2;
    private readonly BatchNorm2d norm1, norm2;
    private readonly Conv2d? down_conv;
    private readonly BatchNorm2d? down_norm;

    public ResidualBlock(long channelsIn, long channels, int stride) : base(nameof(ResidualBlock))
    {
        conv1 = Conv2d(channelsIn, channels, kernel_size: 3, stride: stride, padding: 1, bias: false);
        norm1 = BatchNorm2d(channels);
        conv2 = Conv2d(channels, channels, kernel_size: 3, stride: 1, padding: 1, bias: false);
        norm2 = BatchNorm2d(channels);
        if (stride != 1 || channelsIn != channels)
        {
            down_conv = Conv2d(channelsIn, channels, kernel_size: 1, stride: stride, bias: false);
            down_norm = BatchNorm2d(channels);
        }
        RegisterComponents();
    }

    internal IEnumerable<(string Part, Conv2d Conv, BatchNorm2d Norm)> Layers()
    {
        yield return ("conv1", conv1, norm1);
        yield return ("conv2", conv2, norm2);
        if (down_conv is not null) yield return ("down", down_conv, down_norm!);
    }

    public override Tensor forward(Tensor input)
    {
        using var convolved1 = conv1.forward(input);
        using var activated = BatchNormRelu.Forward(norm1, convolved1);
        using var convolved2 = conv2.forward(activated);
        var sum = norm2.forward(convolved2);
        if (down_conv is null) sum.add_(input);
        else
        {
            using var projected = down_conv.forward(input);
            using var shortcut = down_norm!.forward(projected);
            sum.add_(shortcut);
        }
        return sum.relu_();
    }
}
