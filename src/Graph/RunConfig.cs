using System.Text.Json;
using System.Text.Json.Serialization;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Messages.Overlay;
using VideoSsl.Learning;
using VideoSsl.Learning.Backbones;
using VideoSsl.Sampling;

namespace VideoSsl.Graph;

/// <summary>When a training run ends: whichever limit comes first, or the end of the sources.</summary>
public sealed record RunLimits
{
    /// <summary>Passes over the file sources.</summary>
    public int Epochs { get; init; } = 1;

    /// <summary>Stop after this many optimizer steps in total (a resumed run counts the steps before it).</summary>
    public long? MaxSteps { get; init; }

    /// <summary>Stop after this many decoded frames in total.</summary>
    public long? MaxFrames { get; init; }

    /// <summary>Stop after this many seconds of wall time in this process.</summary>
    public double? MaxSeconds { get; init; }

    public IEnumerable<string> Problems()
    {
        if (Epochs < 1) yield return $"epochs must be at least 1 (got {Epochs})";
        if (MaxSteps is < 1) yield return $"max-steps must be at least 1 (got {MaxSteps})";
        if (MaxFrames is < 1) yield return $"max-frames must be at least 1 (got {MaxFrames})";
        if (MaxSeconds is { } s && !(s > 0)) yield return $"max-seconds must be above 0 (got {s})";
    }
}

/// <summary>The online quality monitor: held-out clips measured every few steps while training runs.</summary>
public sealed record MonitorSettings
{
    /// <summary>Video files or folders kept apart from training; none turns the monitor off.</summary>
    public IReadOnlyList<string> Sources { get; init; } = [];

    /// <summary>Steps between measurements.</summary>
    public int Every { get; init; } = 100;

    /// <summary>Frames per second taken from each clip (eval's default).</summary>
    public double Fps { get; init; } = 5;

    /// <summary>
    /// Share of each training file, at its end, kept out of training and measured by the monitor instead of
    /// <see cref="Sources"/> (0: off): held-out frames of the training footage itself, later than any it trains on.
    /// </summary>
    public double HoldoutTail { get; init; }

    /// <summary>Whether the monitor runs: on named clips or on the training files' tails.</summary>
    [JsonIgnore]
    public bool On => Sources.Count > 0 || HoldoutTail > 0;

    public IEnumerable<string> Problems(double posWindow)
    {
        if (Every < 1) yield return $"eval-every must be at least 1 step (got {Every})";
        if (!(HoldoutTail is >= 0 and <= 0.5)) yield return $"holdout-tail must be from 0 to 0.5 (a share of each file; got {HoldoutTail})";
        else if (HoldoutTail > 0 && Sources.Count > 0) yield return "holdout-tail and eval-source both name what the monitor measures; give one";
        if (!(Fps > 0) || Fps > 60) yield return $"eval-fps must be above 0 and at most 60 (got {Fps})";
        else if (On && posWindow < 1 / Fps)
            yield return $"at --eval-fps {Fps} frames lie {1 / Fps:0.###} s apart, more than pos-window {posWindow} s: no near pairs to measure";
    }
}

/// <summary>
/// The whole configuration of a training run, in one typed object: built from defaults, an optional JSON file and
/// the command line, validated once before anything starts, written to <c>RUN_DIR/config.json</c> and into every
/// checkpoint. JSON keys are the command-line option names (kebab-case), grouped by stage.
/// </summary>
public sealed record RunConfig
{
    public IReadOnlyList<string> Sources { get; init; } = [];
    public string Out { get; init; } = "";
    public long Seed { get; init; } = 1234;

    public DeviceChoice Device { get; init; } = DeviceChoice.Auto;

    // Populate: a config file's partial object ("trainer": {"model": {"embedding-dim": 64}}) changes those keys of
    // these defaults, not of each settings record's own (the records default to the small encoder, as checkpoints
    // written before the resnet18 backbone describe it).
    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public RunLimits Limits { get; init; } = new();

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public DecodeSettings Decode { get; init; } = new() { Size = DefaultSize(DefaultBackbone) };

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public SamplerSettings Sampler { get; init; } = new();

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public TrainerSettings Trainer { get; init; } = new()
    {
        Model = DefaultModel(DefaultBackbone),
        Adapt = DefaultAdapt(DefaultBackbone),
        Optimizer = new OptimizerSettings { WeightAverage = DefaultWeightAverage(DefaultBackbone) },
        Loss = DefaultLoss(DefaultBackbone),
    };

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public ViewSettings View { get; init; } = new();

    [JsonObjectCreationHandling(JsonObjectCreationHandling.Populate)]
    public MonitorSettings Monitor { get; init; } = new();

    /// <summary>
    /// The backbone train and demo use unless told otherwise: on the validation clips (media/varied) ImageNet's
    /// ResNet-18 adapted for four CPU minutes gave better features than the small encoder and than the frozen
    /// ResNet-18 (README, *Does it learn?*).
    /// </summary>
    public const BackboneKind DefaultBackbone = BackboneKind.ResNet18;

    /// <summary>Frame size a backbone is trained at by default (resnet18: a multiple of 32, small enough for a CPU).</summary>
    public static int DefaultSize(BackboneKind backbone) => backbone == BackboneKind.ResNet18 ? 128 : new DecodeSettings().Size;

    /// <summary>
    /// A backbone's model by default. resnet18: ImageNet weights, pooling stages 2 to 4 (stage 2 is frozen, so
    /// ImageNet's own mid-level features stay in the embedding); measured on the validation clips.
    /// </summary>
    public static ModelSettings DefaultModel(BackboneKind backbone) => backbone == BackboneKind.ResNet18
        ? new ModelSettings { Backbone = backbone, Init = InitKind.ImageNet, PooledStages = [2, 3, 4] }
        : new ModelSettings { Backbone = backbone };

    /// <summary>
    /// How a backbone adapts by default. resnet18: the first two stages frozen, BatchNorm statistics frozen, the
    /// backbone at a tenth of the head's rate; every other choice tried lost on the validation clips.
    /// </summary>
    public static AdaptSettings DefaultAdapt(BackboneKind backbone) => backbone == BackboneKind.ResNet18
        ? new AdaptSettings { FreezeStages = 2, BackboneLrScale = 0.1, BatchNorm = BatchNormMode.Frozen }
        : new AdaptSettings();

    /// <summary>
    /// A backbone's weight average by default. resnet18: 0.99, which on the validation clips raised same-video
    /// retrieval with every seed (+0.02 mAP) and kept balanced AUC (README, *Does it learn?*); the small encoder is
    /// not measured with it and keeps its last step's weights.
    /// </summary>
    public static double DefaultWeightAverage(BackboneKind backbone) => backbone == BackboneKind.ResNet18 ? 0.99 : 0;

    /// <summary>
    /// A backbone's graded-loss falloff by default. resnet18: the power law, power 2 over 10 s, which on the
    /// validation webcam halves raised tau and mAP with each of three seeds against the exponential over 3 s and kept
    /// AUC and tau on average on varied to webcam (README, *A heavy-tailed falloff*); the small encoder keeps the
    /// exponential over 3 s it was measured with.
    /// </summary>
    public static LossSettings DefaultLoss(BackboneKind backbone) => backbone == BackboneKind.ResNet18
        ? new LossSettings { Falloff = TimeFalloff.Power, FalloffPower = 2, TimeScale = 10 }
        : new LossSettings();

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.KebabCaseLower,
        WriteIndented = true,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>
    /// This configuration with <paramref name="backbone"/> and the frame size, initial weights, pooled stages,
    /// adaptation and weight average that backbone is used with by default (each chosen by measurement, README *Does it learn?*).
    /// </summary>
    public RunConfig WithBackbone(BackboneKind backbone)
    {
        var model = DefaultModel(backbone);
        var loss = DefaultLoss(backbone);
        return this with
        {
            Decode = Decode with { Size = DefaultSize(backbone) },
            Trainer = Trainer with
            {
                // The head's shape stays as configured; what the backbone brings is replaced.
                Model = Trainer.Model with { Backbone = backbone, Init = model.Init, Width = model.Width, PooledStages = model.PooledStages, KeepImageNet = model.KeepImageNet },
                Adapt = DefaultAdapt(backbone),
                Optimizer = Trainer.Optimizer with { WeightAverage = DefaultWeightAverage(backbone) },
                Loss = Trainer.Loss with { Falloff = loss.Falloff, FalloffPower = loss.FalloffPower, TimeScale = loss.TimeScale },
            },
        };
    }

    public IEnumerable<string> Problems()
    {
        if (Trainer.Model.Backbone == BackboneKind.ResNet18 && ResNetBackbone.Problem(Decode.Size) is { } sizeProblem)
            yield return sizeProblem;
        foreach (var p in Limits.Problems().Concat(Decode.Problems()).Concat(Sampler.Problems()).Concat(Trainer.Problems()).Concat(View.Problems()).Concat(Monitor.Problems(Sampler.PosWindow)))
            yield return p;
        if (Sampler.Positives > 1 && Trainer.Loss.Kind == LossKind.Triplet)
            yield return "the triplet loss takes one positive per anchor: use --positives 1 with --loss triplet (or multi-positive InfoNCE)";
        if (Decode.Fps is { } fps && Sampler.PosWindow < 1 / fps)
            yield return $"pos-window ({Sampler.PosWindow} s) is shorter than one frame at --fps {fps} ({1 / fps:0.###} s): no frame could be a positive";
    }

    /// <summary>
    /// Throws one <see cref="UserError"/> listing every problem, or returns this configuration. Problems that the
    /// command line brought in are a bad command line (exit code 2); problems of a configuration file, bad input (1).
    /// </summary>
    public RunConfig Validated(bool fromCommandLine = false)
    {
        var problems = Problems().ToList();
        if (problems.Count == 0) return this;
        string message = "invalid configuration: " + string.Join("; ", problems);
        throw fromCommandLine ? UserError.CommandLine(message) : new UserError(message);
    }

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    /// <param name="written">The program wrote it (a run folder's config.json, a checkpoint's copy): older ones are read as what they trained.</param>
    public static RunConfig FromJson(string json, string origin, bool written = false)
    {
        RunConfig? config;
        try
        {
            string upgraded = ConfigJson.UpgradeSmallModel(json);
            config = JsonSerializer.Deserialize<RunConfig>(written ? ConfigJson.UpgradeWrittenLoss(upgraded) : upgraded, Json);
        }
        catch (JsonException e)
        {
            throw new UserError($"config '{origin}': {ConfigJson.Describe(e)}");
        }
        if (config is null) throw new UserError($"config '{origin}': empty (null instead of an object)");
        if (ConfigJson.FirstNull(config) is { } key) throw new UserError($"config '{origin}': '{key}' is null; give it a value or leave the key out");
        return config;
    }

    public static RunConfig FromFile(string path)
    {
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"config '{path}': cannot be read ({e.Message})");
        }
        return FromJson(json, path);
    }
}
