using System.Text.Json.Serialization;
using VideoSsl.Engine;
using VideoSsl.Learning.Backbones;

namespace VideoSsl.Learning;

/// <summary>The encoder's shape. Saved in every checkpoint: a checkpoint only loads into the same shape.</summary>
public sealed record ModelSettings
{
    public BackboneKind Backbone { get; init; } = BackboneKind.Small;

    /// <summary>Where the backbone's weights start (ImageNet: the resnet18 backbone only). Not part of the shape: a resumed run takes the checkpoint's weights.</summary>
    public InitKind Init { get; init; } = InitKind.Scratch;

    /// <summary>Channel multiplier of the small backbone: 1 gives conv blocks of 32, 64, 128, 256 channels; 2 doubles each.</summary>
    public int Width { get; init; } = 1;

    /// <summary>Hidden width of the projection head, times <see cref="Width"/>.</summary>
    public int ProjectionHidden { get; init; } = 256;

    /// <summary>Size of the projected, L2-normalised embedding the loss sees.</summary>
    public int EmbeddingDim { get; init; } = 128;

    /// <summary>The backbone stages (1 to 4) whose pooled features make the embedding; null: every stage.</summary>
    public int[]? PooledStages { get; init; }

    /// <summary>
    /// Keep the ImageNet backbone, never trained, beside the adapted one, its pooled stages in the embedding next to
    /// the adapted ones' (resnet18 with ImageNet weights only): what ImageNet gives cannot be worn away.
    /// </summary>
    public bool KeepImageNet { get; init; }

    /// <summary>
    /// Centre the embedding (SimpleShot's CL2N): each pooled stage's unit vector less that stage's mean unit vector
    /// over the training frames (a running mean the trainer keeps in the model), normalised again. ReLU features
    /// share a large common direction that crowds every cosine together; taking it out spreads them (README,
    /// *Does it learn?*).
    /// </summary>
    public bool Centre { get; init; }

    /// <summary>Length of the centre (with <see cref="Centre"/>): every stage's channels, of each backbone the model holds.</summary>
    [JsonIgnore]
    public int CentreLength => Channels.Sum() * (KeepImageNet ? 2 : 1);

    [JsonIgnore]
    public int[] Channels => Backbone == BackboneKind.ResNet18
        ? ResNetBackbone.Channels.Select(c => (int)c).ToArray()
        : [32 * Width, 64 * Width, 128 * Width, 256 * Width];

    /// <summary>0-based indexes of the pooled stages, in order.</summary>
    [JsonIgnore]
    public int[] PooledStageIndexes => (PooledStages ?? Enumerable.Range(1, Channels.Length).ToArray()).Select(s => s - 1).Order().ToArray();

    /// <summary>Size of the embedding: the pooled stages' features side by side (twice over with <see cref="KeepImageNet"/>; what <c>embed</c> writes).</summary>
    [JsonIgnore]
    public int FeatureDim => PooledStageIndexes.Sum(i => Channels[i]) * (KeepImageNet ? 2 : 1);

    /// <summary>The same shape whatever the weights started from (what a checkpoint must match to load).</summary>
    public bool SameShape(ModelSettings other) => this with { Init = default, PooledStages = null } == other with { Init = default, PooledStages = null }
        && PooledStageIndexes.SequenceEqual(other.PooledStageIndexes);

    /// <summary>
    /// Multiply-adds of one forward pass of one frame, counted as 2 FLOPs each (convolutions and linear layers;
    /// BatchNorm and ReLU add about 1 %). A training step costs about three forward passes.
    /// </summary>
    public double ForwardFlopsPerFrame(int size) => StageFlops(size).Sum() + HeadFlops();

    /// <summary>
    /// FLOPs of one training step per frame: the forward pass, and the backward pass (about twice the forward's)
    /// through the stages that train and the head; frozen stages take no gradient.
    /// </summary>
    public double TrainingFlopsPerFrame(int size, int frozenStages)
    {
        var stages = StageFlops(size);
        return stages.Sum() + 2 * stages.Skip(frozenStages).Sum() + 3 * HeadFlops();
    }

    private double[] StageFlops(int size) =>
        Backbone == BackboneKind.ResNet18 ? ResNetBackbone.StageFlops(size) : SmallBackbone.StageFlops(Channels, size);

    /// <summary>The projection head's two linear layers on one frame.</summary>
    private double HeadFlops()
    {
        int hidden = ProjectionHidden * Width;
        return 2.0 * Channels[^1] * hidden + 2.0 * hidden * EmbeddingDim;
    }

    public IEnumerable<string> Problems()
    {
        if (Width < 1 || Width > 8) yield return $"width must be between 1 and 8 (got {Width})";
        if (Backbone != BackboneKind.Small && Width != 1) yield return $"width applies to the small backbone only (got {Width} with {Choice<BackboneKind>.Name(Backbone)})";
        if (ProjectionHidden < 8) yield return $"projection-hidden must be at least 8 (got {ProjectionHidden})";
        if (EmbeddingDim < 2) yield return $"embedding-dim must be at least 2 (got {EmbeddingDim})";
        if (Init == InitKind.ImageNet && Backbone != BackboneKind.ResNet18) yield return "init imagenet needs the resnet18 backbone (the small backbone has no ImageNet weights)";
        if (KeepImageNet && Init != InitKind.ImageNet) yield return "keep-imagenet needs init imagenet";
        if (PooledStages is { } pooled && (pooled.Length == 0 || pooled.Any(s => s < 1 || s > Channels.Length) || pooled.Distinct().Count() != pooled.Length))
            yield return $"pooled-stages must name distinct stages from 1 to {Channels.Length} (got {string.Join(",", pooled)})";
    }
}

/// <summary>What of the backbone training changes, and how fast (for adapting ImageNet weights without wearing them away).</summary>
public sealed record AdaptSettings
{
    /// <summary>The first N backbone stages keep their weights and BatchNorm statistics (0: train every stage).</summary>
    public int FreezeStages { get; init; }

    /// <summary>The backbone's learning rate as a share of the head's (<c>lr</c>).</summary>
    public double BackboneLrScale { get; init; } = 1;

    /// <summary>Adapted: BatchNorm normalises with each batch's statistics and updates its running ones; frozen: it keeps the ones it started with.</summary>
    [JsonPropertyName("batchnorm")]
    public BatchNormMode BatchNorm { get; init; } = BatchNormMode.Adapted;

    /// <summary>
    /// How hard each step pulls the trained backbone weights back towards ImageNet's (L2-SP, applied decoupled like
    /// AdamW's decay): every weight moves this many times the backbone's learning rate of its distance from its
    /// ImageNet value, so it settles about 1/strength from it where Adam's steps and the pull balance. 0: off.
    /// </summary>
    [JsonPropertyName("imagenet-pull")]
    public double ImageNetPull { get; init; }

    public IEnumerable<string> Problems(ModelSettings model)
    {
        int stages = model.Channels.Length;
        if (!(ImageNetPull is >= 0 and <= 100_000)) yield return $"imagenet-pull must be from 0 to 100000 (got {ImageNetPull})";
        if (ImageNetPull > 0 && model.Init != InitKind.ImageNet) yield return "imagenet-pull needs init imagenet (it pulls the weights back towards ImageNet's)";
        if (FreezeStages < 0 || FreezeStages > stages) yield return $"freeze-stages must be from 0 to {stages} (got {FreezeStages})";
        if (!(BackboneLrScale > 0) || BackboneLrScale > 10) yield return $"backbone-lr-scale must be above 0 and at most 10 (got {BackboneLrScale})";
    }
}

/// <summary>How BatchNorm layers behave in training (<see cref="AdaptSettings.BatchNorm"/>).</summary>
[JsonConverter(typeof(ChoiceConverter<BatchNormMode>))]
public enum BatchNormMode
{
    Adapted,
    Frozen,
}

/// <summary>The training objective's kind (see <see cref="ContrastiveObjective"/> for each one's loss).</summary>
[JsonConverter(typeof(ChoiceConverter<LossKind>))]
public enum LossKind
{
    /// <summary>InfoNCE with soft targets that fall with the time gap (<see cref="LossSettings.TimeScale"/>).</summary>
    Graded,

    /// <summary>Symmetric InfoNCE with the false-negative mask (multi-positive with several positives).</summary>
    InfoNce,

    /// <summary>TCN-style triplet loss on the hardest unmasked negative.</summary>
    Triplet,
}

/// <summary>How the graded loss's target weight falls with the time gap within a source (<see cref="LossSettings.Falloff"/>).</summary>
[JsonConverter(typeof(ChoiceConverter<TimeFalloff>))]
public enum TimeFalloff
{
    /// <summary>exp(-gap / time-scale): by a factor e every time-scale seconds, so every pair a few time-scales apart gets about nothing.</summary>
    Exponential,

    /// <summary>(1 + gap / time-scale)^-power: heavy-tailed, so pairs minutes apart still rank below pairs seconds apart.</summary>
    Power,
}

/// <summary>The training objective.</summary>
public sealed record LossSettings
{
    public LossKind Kind { get; init; } = LossKind.Graded;

    public double Temperature { get; init; } = 0.1;

    // 3 s, chosen with four seeds per setting on the held-out clips (README, Does it learn?): against 5 s it kept
    // Kendall tau above raw pixels with every seed, for half a point of balanced AUC.
    /// <summary>Seconds over which the graded loss's target share falls by a factor e, or halves with the power falloff at power 1 (the <c>graded</c> loss only).</summary>
    public double TimeScale { get; init; } = 3;

    /// <summary>
    /// Target weight the graded loss gives every frame of the anchor's own video on top of exp(-|dt| / time-scale), so
    /// that a video's frames stay nearer each other than other videos' frames however far apart in time they are. Off
    /// by default: on the held-out clips it lowered same-video retrieval instead (README, *Does it learn?*).
    /// </summary>
    public double VideoWeight { get; init; }

    /// <summary>
    /// The shape of the graded targets' fall with the time gap. With the exponential one the best similarity falls by
    /// temperature / time-scale a second and levels off a few time-scales out, so frames half a minute apart and frames
    /// five minutes apart are pushed to the same similarity; with the power law it falls by temperature times power
    /// times ln(1 + gap / time-scale), still ordering long gaps.
    /// </summary>
    public TimeFalloff Falloff { get; init; } = TimeFalloff.Exponential;

    /// <summary>Exponent of the <see cref="TimeFalloff.Power"/> falloff.</summary>
    public double FalloffPower { get; init; } = 1;

    /// <summary>Margin of the triplet loss, in squared distance between unit vectors (0 to 4).</summary>
    public double Margin { get; init; } = 0.2;

    /// <summary>
    /// Weight of the time-order term (0 turns it off): among anchors of one source, the nearer in time should be
    /// the more similar (pooled features), beyond the near/far split the contrastive loss makes.
    /// </summary>
    public double OrderWeight { get; init; }

    public IEnumerable<string> Problems()
    {
        if (!(OrderWeight is >= 0 and <= 10)) yield return $"order-weight must be from 0 to 10 (got {OrderWeight})";
        if (!(TimeScale > 0) || TimeScale > 3600) yield return $"time-scale must be above 0 and at most 3600 seconds (got {TimeScale})";
        if (!(VideoWeight is >= 0 and <= 1)) yield return $"video-weight must be from 0 to 1 (got {VideoWeight})";
        if (!(FalloffPower > 0) || FalloffPower > 10) yield return $"falloff-power must be above 0 and at most 10 (got {FalloffPower})";
        if (!(Temperature > 0) || Temperature > 10) yield return $"temperature must be above 0 and at most 10 (got {Temperature})";
        if (!(Margin > 0) || Margin > 4) yield return $"margin must be above 0 and at most 4 (got {Margin})";
    }
}

/// <summary>AdamW settings.</summary>
public sealed record OptimizerSettings
{
    [JsonPropertyName("lr")]
    public double LearningRate { get; init; } = 1e-3;
    public double WeightDecay { get; init; } = 0.01;

    /// <summary>Under MPI, multiply the learning rate by the number of ranks (the linear scaling rule: K ranks make a K times larger batch).</summary>
    [JsonPropertyName("scale-lr-with-ranks")]
    public bool ScaleLrWithRanks { get; init; }

    /// <summary>
    /// Decay per step of an exponential moving average of the weights (0: off). With it, what the run embeds, measures
    /// and exports is the average (the last hundred steps or so at 0.99) instead of the last step's weights, which
    /// wander from step to step; training itself goes on from the last step's. Until 1/(1 - D) steps have passed it
    /// is the plain mean of every step's weights so far (decay min(D, (1 + n) / (2 + n)) at the n-th step), so neither
    /// the starting weights weigh for long nor does the window stay shorter than asked (TensorFlow's (1 + n) / (10 + n)
    /// keeps it at about a tenth of the steps so far: 55 at step 500 whatever D, too short for runs of a few hundred).
    /// </summary>
    [JsonPropertyName("weight-average")]
    public double WeightAverage { get; init; }

    public IEnumerable<string> Problems()
    {
        if (!(LearningRate > 0) || LearningRate > 1) yield return $"lr must be above 0 and at most 1 (got {LearningRate})";
        if (!(WeightAverage is >= 0 and < 1)) yield return $"weight-average must be at least 0 and below 1 (got {WeightAverage})";
        if (!(WeightDecay >= 0) || WeightDecay > 1) yield return $"weight-decay must be between 0 and 1 (got {WeightDecay})";
    }
}

/// <summary>Independent random views of anchor and positive, made on the batch as a whole.</summary>
public sealed record AugmentSettings
{
    public bool Enabled { get; init; } = true;

    // Milder than image self-supervision: here the positive is another moment of the video, which already varies;
    // strong crops hide position and scale, the very things that change between nearby moments, and on real
    // footage (webcam clips) left training at chance. Flips are off because flipping anchor and positive
    // independently erases left/right motion. Colour jitter is off because colour is much of what tells one video
    // from another: on the held-out clips, jitter cost same-video retrieval (README, Does it learn?).

    /// <summary>Smallest crop, as a share of the frame's area, of the random resized crop.</summary>
    public double CropMinScale { get; init; } = 0.7;

    /// <summary>Strength of the brightness, contrast and saturation jitter (0 turns it off).</summary>
    public double ColorJitter { get; init; }

    public double FlipProbability { get; init; }
    public double GrayProbability { get; init; }

    public IEnumerable<string> Problems()
    {
        if (!(CropMinScale > 0) || CropMinScale > 1) yield return $"crop-min-scale must be above 0 and at most 1 (got {CropMinScale})";
        if (!(ColorJitter >= 0) || ColorJitter >= 1) yield return $"color-jitter must be at least 0 and below 1 (got {ColorJitter})";
        if (!(FlipProbability is >= 0 and <= 1)) yield return $"flip-probability must be between 0 and 1 (got {FlipProbability})";
        if (!(GrayProbability is >= 0 and <= 1)) yield return $"gray-probability must be between 0 and 1 (got {GrayProbability})";
    }
}

/// <summary>Everything the trainer stage needs besides its input.</summary>
public sealed record TrainerSettings
{
    // Populate: a configuration's partial object changes the keys it names of the defaults it is read into (see RunConfig).
    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public ModelSettings Model { get; init; } = new();

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public LossSettings Loss { get; init; } = new();

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public OptimizerSettings Optimizer { get; init; } = new();

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public AugmentSettings Augment { get; init; } = new();

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public AdaptSettings Adapt { get; init; } = new();

    /// <summary>Write a checkpoint every this many steps (and always at the end).</summary>
    public int CheckpointEvery { get; init; } = 100;

    /// <summary>Keep this many most recent checkpoints.</summary>
    public int KeepCheckpoints { get; init; } = 3;

    /// <summary>LibTorch intra-op threads; 0 lets LibTorch choose (one per core).</summary>
    public int Threads { get; init; }

    public IEnumerable<string> Problems() =>
        Model.Problems().Concat(Loss.Problems()).Concat(Optimizer.Problems()).Concat(Augment.Problems()).Concat(Adapt.Problems(Model)).Concat(Own());

    private IEnumerable<string> Own()
    {
        if (CheckpointEvery < 1) yield return $"checkpoint-every must be at least 1 step (got {CheckpointEvery})";
        if (KeepCheckpoints < 1) yield return $"keep-checkpoints must be at least 1 (got {KeepCheckpoints})";
        if (Threads < 0 || Threads > 256) yield return $"threads must be between 0 and 256 (got {Threads})";
    }
}
