using System.Text.Json.Serialization;
using TorchSharp;
using VideoSsl.Engine;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VideoSsl.Learning.Backbones;

/// <summary>Which convolutional network turns frames into feature maps.</summary>
[JsonConverter(typeof(ChoiceConverter<BackboneKind>))]
public enum BackboneKind
{
    /// <summary>Four 3x3 stride-2 conv blocks (<see cref="SmallBackbone"/>): fast enough for live demos on a CPU.</summary>
    Small,

    /// <summary>The ResNet-18 of ML.NET's ImageNet featurizer (<see cref="ResNetBackbone"/>), with its weights or from scratch.</summary>
    ResNet18,
}

/// <summary>Where the backbone's weights start.</summary>
[JsonConverter(typeof(ChoiceConverter<InitKind>))]
public enum InitKind
{
    /// <summary>Random weights, seeded.</summary>
    Scratch,

    /// <summary>ImageNet-supervised weights (ResNet-18 only), read from the ONNX model the program ships.</summary>
    ImageNet,
}

/// <summary>
/// A backbone as a sequence of stages, each halving the map or more: the trainer freezes the first ones, the
/// embedding pools chosen ones, and the overlay's heatmaps come from the last one's map. Input is what
/// <see cref="FrameTensors.Normalize"/> makes (RGB, ImageNet-standardised); a backbone that expects another input
/// convention converts it in its first stage.
/// </summary>
public abstract class Backbone : Module<Tensor, Tensor>
{
    protected Backbone(string name) : base(name) { }

    /// <summary>Output channels of each stage.</summary>
    public abstract long[] StageChannels { get; }

    public int StageCount => StageChannels.Length;

    /// <summary>Runs stage <paramref name="index"/> on the previous stage's map (stage 0 takes the images).</summary>
    public abstract Tensor Stage(int index, Tensor input);

    /// <summary>The modules holding stage <paramref name="index"/>'s weights and BatchNorm statistics (what freezing a stage affects).</summary>
    public abstract IEnumerable<Module> StageModules(int index);

    /// <summary>Every stage in turn: the last stage's map.</summary>
    public override Tensor forward(Tensor images)
    {
        var map = images;
        for (int i = 0; i < StageCount; i++)
        {
            var next = Stage(i, map);
            if (i > 0) map.Dispose();
            map = next;
        }
        return map;
    }

    /// <summary>The backbone a model's settings ask for, with fresh (scratch) weights.</summary>
    public static Backbone Create(ModelSettings settings) => settings.Backbone switch
    {
        BackboneKind.Small => new SmallBackbone(settings.Channels),
        BackboneKind.ResNet18 => new ResNetBackbone(),
        _ => throw new ArgumentOutOfRangeException(nameof(settings)),
    };

    /// <summary>2 x in x out x k x k x side², a convolution's FLOPs on one frame.</summary>
    protected static double ConvFlops(long channelsIn, long channelsOut, int kernel, int side) =>
        2.0 * channelsIn * channelsOut * kernel * kernel * side * side;
}
