using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VideoSsl.Learning;

/// <summary>
/// The encoder: conv blocks (3x3, stride 2, BatchNorm, ReLU) that keep a spatial feature map (what the overlay's
/// heatmaps are made from), global average pooling of every block's map to the embedding (what <c>embed</c> writes, see
/// <see cref="Embed"/>), and a projection head on the last block's pooled features
/// (Linear, BatchNorm, ReLU, Linear; the BatchNorm keeps the hidden units
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
    public Tensor FeatureMap(Tensor images) => Blocks(images, pooled: null);

    /// <summary>The last block's map; <paramref name="pooled"/>, when given, also receives every block's pooled [B, C_i] features.</summary>
    private Tensor Blocks(Tensor images, List<Tensor>? pooled)
    {
        var map = images;
        for (int i = 0; i < _convolutions.Length; i++)
        {
            using var convolved = _convolutions[i].forward(map);
            if (i > 0) map.Dispose();
            map = BatchNormRelu.Forward(_norms[i], convolved);
            pooled?.Add(map.mean([2, 3]));
        }
        return map;
    }

    /// <summary>
    /// [B, sum of C_i] the embedding users get (what <c>embed</c> writes and <c>eval</c> measures): every block's
    /// globally pooled features, each L2-normalised, side by side, scaled to unit length. The last block alone
    /// learns what the loss asks (time within a scene) and lets go of what tells one video from another: on the
    /// held-out clips its same-video retrieval fell below raw pixels', while the earlier blocks keep colour and
    /// layout, for the same near/far AUC and a Kendall's tau as high or higher (README, *Does it learn?*).
    /// </summary>
    public Tensor Embed(Tensor images) => WithPooledBlocks(images, Embedding);

    /// <summary>The embedding ([B, sum of C_i], see <see cref="Embed"/>) and the projections ([B, D], what the loss sees) from one pass.</summary>
    public (Tensor Features, Tensor Projected) ForwardBoth(Tensor images) => WithPooledBlocks(images, pooled =>
    {
        using var projected = head.forward(pooled[^1]);
        return (Embedding(pooled), functional.normalize(projected, p: 2, dim: 1));
    });

    /// <summary>Runs the blocks, hands every block's pooled features to <paramref name="use"/>, then lets them go.</summary>
    private T WithPooledBlocks<T>(Tensor images, Func<List<Tensor>, T> use)
    {
        var pooled = new List<Tensor>(_convolutions.Length);
        try
        {
            Blocks(images, pooled).Dispose();
            return use(pooled);
        }
        finally
        {
            foreach (var block in pooled) block.Dispose();
        }
    }

    private static Tensor Embedding(List<Tensor> pooled)
    {
        var parts = pooled.Select(block => functional.normalize(block, p: 2, dim: 1)).ToArray();
        try
        {
            return cat(parts, dim: 1).mul_(1 / Math.Sqrt(parts.Length));
        }
        finally
        {
            foreach (var part in parts) part.Dispose();
        }
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
