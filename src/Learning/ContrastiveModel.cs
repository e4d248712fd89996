using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VideoSsl.Learning;

/// <summary>
/// The encoder: conv blocks (3x3, stride 2, BatchNorm, ReLU) that keep a spatial feature map (what the overlay's
/// heatmaps are made from), global average pooling to a feature vector (what <c>embed</c> writes), and a projection
/// head (Linear, BatchNorm, ReLU, Linear; the BatchNorm keeps the hidden units
/// from dying, which would collapse every embedding to one point) whose L2-normalised output is what the loss compares.
/// </summary>
public sealed class ContrastiveModel : Module<Tensor, Tensor>
{
    // The Sequential keeps the parameter names checkpoints and the PyTorch export use (backbone.conv0.weight, ...);
    // the forward pass walks the same modules itself so that each BatchNorm and ReLU pair runs fused.
    private readonly Sequential backbone;
    private readonly Sequential head;
    private readonly Conv2d[] _convolutions;
    private readonly BatchNorm2d[] _norms;

    public ContrastiveModel(ModelSettings settings) : base(nameof(ContrastiveModel))
    {
        Settings = settings;
        var blocks = new List<(string, Module<Tensor, Tensor>)>();
        _convolutions = new Conv2d[settings.Channels.Length];
        _norms = new BatchNorm2d[settings.Channels.Length];
        long channelsIn = 3;
        for (int i = 0; i < settings.Channels.Length; i++)
        {
            long channels = settings.Channels[i];
            _convolutions[i] = Conv2d(channelsIn, channels, kernel_size: 3, stride: 2, padding: 1, bias: false);
            _norms[i] = BatchNorm2d(channels);
            blocks.Add(($"conv{i}", _convolutions[i]));
            blocks.Add(($"norm{i}", _norms[i]));
            blocks.Add(($"relu{i}", ReLU(inplace: true)));
            channelsIn = channels;
        }
        backbone = Sequential(blocks);
        long hidden = settings.ProjectionHidden * settings.Width;
        head = Sequential(
            ("fc1", Linear(channelsIn, hidden, hasBias: false)),
            ("norm", BatchNorm1d(hidden)),
            ("relu", ReLU(inplace: true)),
            ("fc2", Linear(hidden, settings.EmbeddingDim)));
        RegisterComponents();
    }

    public ModelSettings Settings { get; }

    /// <summary>[B, C, H/16, W/16] spatial features.</summary>
    public Tensor FeatureMap(Tensor images)
    {
        var map = images;
        for (int i = 0; i < _convolutions.Length; i++)
        {
            using var convolved = _convolutions[i].forward(map);
            if (i > 0) map.Dispose();
            map = BatchNormRelu.Forward(_norms[i], convolved);
        }
        return map;
    }

    /// <summary>[B, C] pooled features, L2-normalised: the embedding users get.</summary>
    public Tensor Embed(Tensor images)
    {
        using var map = FeatureMap(images);
        return functional.normalize(map.mean([2, 3]), p: 2, dim: 1);
    }

    /// <summary>The L2-normalised pooled features ([B, C], what embed writes) and projections ([B, D], what the loss sees) from one pass.</summary>
    public (Tensor Features, Tensor Projected) ForwardBoth(Tensor images)
    {
        using var map = FeatureMap(images);
        using var pooled = map.mean([2, 3]);
        using var projected = head.forward(pooled);
        return (functional.normalize(pooled, p: 2, dim: 1), functional.normalize(projected, p: 2, dim: 1));
    }

    /// <summary>[B, D] projected and L2-normalised: what the loss sees.</summary>
    public override Tensor forward(Tensor images)
    {
        using var map = FeatureMap(images);
        using var pooled = map.mean([2, 3]);
        using var projected = head.forward(pooled);
        return functional.normalize(projected, p: 2, dim: 1);
    }
}
