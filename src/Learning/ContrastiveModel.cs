using TorchSharp;
using TorchSharp.Modules;
using VideoSsl.Learning.Backbones;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VideoSsl.Learning;

/// <summary>
/// The encoder: a backbone of stages that keep a spatial feature map (the last one's is what the overlay's heatmaps
/// are made from), global average pooling of chosen stages' maps to the embedding (what <c>embed</c> writes, see
/// <see cref="Embed"/>), and a projection head on the last stage's pooled features
/// (Linear, BatchNorm, ReLU, Linear; the BatchNorm keeps the hidden units
/// from dying, which would collapse every embedding to one point) whose L2-normalised output is what the loss compares.
/// With <see cref="ModelSettings.KeepImageNet"/> a second, never-trained copy of the ImageNet backbone adds its pooled
/// stages to the embedding.
/// </summary>
public sealed class ContrastiveModel : Module<Tensor, Tensor>
{
    // Field names are the parameter names checkpoints and the PyTorch export use (backbone.conv0.weight, head.fc1.weight, ...).
    private readonly Backbone backbone;
    private readonly Backbone? imagenet;
    private readonly Sequential head;
    private readonly int[] _pooledStages;

    // With ModelSettings.Centre: the mean unit vector of every stage's pooled features over the training frames, for
    // each backbone (the adapted one's stages, then the kept ImageNet copy's), so that any stages can be pooled.
    private readonly Tensor? centre;

    /// <summary>The centre's name in the state dict (checkpoints, the export).</summary>
    public const string CentreBuffer = nameof(centre);

    /// <param name="initialWeights">Load the weights <see cref="ModelSettings.Init"/> names (ImageNet); false when a checkpoint's will replace them.</param>
    public ContrastiveModel(ModelSettings settings, bool initialWeights = true) : base(nameof(ContrastiveModel))
    {
        Settings = settings;
        _pooledStages = settings.PooledStageIndexes;
        backbone = Backbone.Create(settings);
        long hidden = settings.ProjectionHidden * settings.Width;
        head = Sequential(
            ("fc1", Linear(settings.Channels[^1], hidden, hasBias: false)),
            ("norm", BatchNorm1d(hidden)),
            ("relu", ReLU(inplace: true)),
            ("fc2", Linear(hidden, settings.EmbeddingDim)));
        register_module(nameof(backbone), backbone);
        if (settings.KeepImageNet)
        {
            imagenet = Backbone.Create(settings);
            register_module(nameof(imagenet), imagenet);
            foreach (var p in imagenet.parameters()) p.requires_grad = false;
        }
        register_module(nameof(head), head);
        if (settings.Centre)
        {
            centre = zeros(settings.CentreLength);
            register_buffer(CentreBuffer, centre);
        }
        if (initialWeights && settings.Init == InitKind.ImageNet)
        {
            ImageNetWeights.Load((ResNetBackbone)backbone);
            // The kept copy starts as the same weights: copied, not read from the 45 MB model file a second time.
            imagenet?.load_state_dict(backbone.state_dict());
        }
    }

    public ModelSettings Settings { get; }

    /// <summary>[B, C, H/s, W/s] the last stage's spatial features.</summary>
    public Tensor FeatureMap(Tensor images) => backbone.forward(images);

    /// <summary>The trainable backbone (what freezing and the backbone's learning rate apply to).</summary>
    public Backbone Backbone => backbone;

    /// <summary>The projection head's parameters.</summary>
    public IEnumerable<Parameter> HeadParameters() => head.parameters();

    /// <summary>
    /// Training mode for the adapted parts: the never-trained ImageNet copy, frozen stages and (when asked)
    /// every backbone BatchNorm stay in evaluation mode, so their statistics do not move.
    /// </summary>
    public void TrainMode(AdaptSettings adapt)
    {
        train();
        imagenet?.eval();
        for (int i = 0; i < adapt.FreezeStages; i++)
            foreach (var module in backbone.StageModules(i)) module.eval();
        if (adapt.BatchNorm == BatchNormMode.Frozen)
            foreach (var (_, module) in backbone.named_modules())
                if (module is BatchNorm2d) module.eval();
    }

    /// <summary>The last stage's map; <paramref name="pooled"/>, when given, also receives the pooled [B, C_i] features of the pooled stages.</summary>
    private static Tensor Stages(Backbone stages, Tensor images, List<Tensor>? pooled, int[] pooledStages)
    {
        var map = images;
        for (int i = 0; i < stages.StageCount; i++)
        {
            var next = stages.Stage(i, map);
            if (i > 0) map.Dispose();
            map = next;
            if (pooled is not null && pooledStages.Contains(i)) pooled.Add(map.mean([2, 3]));
        }
        return map;
    }

    /// <summary>
    /// [B, <see cref="ModelSettings.FeatureDim"/>] the embedding users get (what <c>embed</c> writes and <c>eval</c>
    /// measures): the pooled stages' globally pooled features, each L2-normalised, side by side, scaled to unit
    /// length. The last stage alone learns what the loss asks (time within a scene) and lets go of what tells one
    /// video from another: on the held-out clips the small encoder's last block fell below raw pixels on same-video
    /// retrieval, while the earlier blocks keep colour and layout (README, *Does it learn?*).
    /// </summary>
    public Tensor Embed(Tensor images) => WithPooledStages(images, _pooledStages, (pooled, _) => Embedding(pooled));

    /// <summary>The embedding ([B, FeatureDim], see <see cref="Embed"/>) and the projections ([B, D], what the loss sees) from one pass.</summary>
    public (Tensor Features, Tensor Projected) ForwardBoth(Tensor images) => WithPooledStages(images, _pooledStages, (pooled, last) =>
    {
        using var lastPooled = last.mean([2, 3]);
        using var projected = head.forward(lastPooled);
        return (Embedding(pooled), functional.normalize(projected, p: 2, dim: 1));
    });

    /// <summary>Runs the stages, hands the pooled stages' features (and the last map) to <paramref name="use"/>, then lets them go.</summary>
    private T WithPooledStages<T>(Tensor images, int[] stages, Func<List<Tensor>, Tensor, T> use)
    {
        var pooled = new List<Tensor>(stages.Length * 2);
        try
        {
            using var last = Stages(backbone, images, pooled, stages);
            if (imagenet is not null)
            {
                using var noGrad = no_grad();
                Stages(imagenet, images, pooled, stages).Dispose();
            }
            return use(pooled, last);
        }
        finally
        {
            foreach (var stage in pooled) stage.Dispose();
        }
    }

    private Tensor Embedding(List<Tensor> pooled)
    {
        var parts = pooled.Select((stage, j) => Centred(functional.normalize(stage, p: 2, dim: 1), j)).ToArray();
        try
        {
            return cat(parts, dim: 1).mul_(1 / Math.Sqrt(parts.Length));
        }
        finally
        {
            foreach (var part in parts) part.Dispose();
        }
    }

    /// <summary>Part <paramref name="index"/> of the embedding (unit rows) less its centre, normalised again; itself without a centre.</summary>
    private Tensor Centred(Tensor part, int index)
    {
        if (centre is null) return part;
        using (part)
        using (var slice = CentreOf(centre, index))
        using (var shifted = part.sub(slice))
            return functional.normalize(shifted, p: 2, dim: 1);
    }

    /// <summary>The centre's slice for part <paramref name="index"/> of the embedding (the adapted backbone's pooled stages, then the kept copy's).</summary>
    private Tensor CentreOf(Tensor all, int index)
    {
        int copy = index / _pooledStages.Length, stage = _pooledStages[index % _pooledStages.Length];
        var channels = Settings.Channels;
        long offset = copy * channels.Sum() + channels.Take(stage).Sum();
        return all.narrow(0, offset, channels[stage]);
    }

    /// <summary>
    /// Sums every stage's unit-length pooled features over <paramref name="images"/>, in the centre's layout: what
    /// <see cref="MoveCentre"/> averages (across ranks too, where the sums of every rank are added first).
    /// </summary>
    public Tensor StageUnitSums(Tensor images)
    {
        using var noGrad = no_grad();
        var every = Enumerable.Range(0, Settings.Channels.Length).ToArray();
        return WithPooledStages(images, every, (pooled, _) =>
        {
            var sums = pooled.Select(stage =>
            {
                using var unitRows = functional.normalize(stage, p: 2, dim: 1);
                return unitRows.sum([0]);
            }).ToArray();
            try { return cat(sums, 0); }
            finally { foreach (var sum in sums) sum.Dispose(); }
        });
    }

    /// <summary>Moves the centre a share <paramref name="weight"/> of the way to <paramref name="mean"/> (see <see cref="StageUnitSums"/>).</summary>
    public void MoveCentre(Tensor mean, double weight)
    {
        if (centre is null) throw new InvalidOperationException("this model keeps no centre (ModelSettings.Centre is off)");
        using var noGrad = no_grad();
        centre.lerp_(mean.to(centre.device), weight);
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
