using VideoSsl.Engine;
using VideoSsl.Graph;
using VideoSsl.Learning;
using VideoSsl.Learning.Backbones;
using VideoSsl.Sampling;
using VideoSsl.Tests.Support;
using static TorchSharp.torch;

namespace VideoSsl.Tests.Unit;

/// <summary>Adapting the ImageNet backbone: what trains, what stays, and what a checkpoint of it holds.</summary>
[Trait("Category", "Unit")]
public class AdaptationTests
{
    private const int Size = 64;

    private static TrainerSettings Settings(AdaptSettings adapt, bool keep = false) => new()
    {
        Model = new ModelSettings { Backbone = BackboneKind.ResNet18, Init = InitKind.ImageNet, ProjectionHidden = 32, EmbeddingDim = 16, PooledStages = [3, 4], KeepImageNet = keep },
        Adapt = adapt,
        Optimizer = new OptimizerSettings { LearningRate = 1e-2 },
    };

    private static TrainingBatch RandomBatch(int seed) => Batches.Random(seed, size: Size);

    private static Dictionary<string, byte[]> Weights(ContrastiveModel model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.cpu().bytes.ToArray());

    private static bool Same(byte[] a, byte[] b) => a.AsSpan().SequenceEqual(b);

    [Fact]
    public void Frozen_stages_and_frozen_batchnorm_keep_their_imagenet_values_while_the_rest_trains()
    {
        using var session = new TrainingSession(Settings(new AdaptSettings { FreezeStages = 2, BackboneLrScale = 0.5, BatchNorm = BatchNormMode.Frozen }), CPU, seed: 1);
        var start = Weights(session.Model);
        for (int i = 0; i < 3; i++) Assert.True(session.Train(RandomBatch(i)).Applied);
        var after = Weights(session.Model);

        // Stage 0 (stem and layer1) and stage 1 (layer2): every weight and statistic as it started.
        foreach (var name in start.Keys.Where(n => n.StartsWith("backbone.stem_") || n.StartsWith("backbone.layer1_") || n.StartsWith("backbone.layer2_")))
            Assert.True(Same(start[name], after[name]), $"{name} changed in a frozen stage");
        // BatchNorm frozen: no running statistic moved anywhere in the backbone, trained stages included.
        foreach (var name in start.Keys.Where(n => n.StartsWith("backbone.") && (n.EndsWith("running_mean") || n.EndsWith("running_var"))))
            Assert.True(Same(start[name], after[name]), $"{name} moved with BatchNorm frozen");
        // The later stages and the head did train.
        Assert.False(Same(start["backbone.layer4_2.conv2.weight"], after["backbone.layer4_2.conv2.weight"]));
        Assert.False(Same(start["backbone.layer3_0.conv1.weight"], after["backbone.layer3_0.conv1.weight"]));
        Assert.False(Same(start["head.fc1.weight"], after["head.fc1.weight"]));
        // The mean image is the ONNX model's preprocessing, never trained.
        Assert.True(Same(start["backbone.mean_image"], after["backbone.mean_image"]));
    }

    [Fact]
    public void Adapted_batchnorm_moves_its_statistics_and_the_backbone_takes_its_share_of_the_rate()
    {
        using var session = new TrainingSession(Settings(new AdaptSettings { FreezeStages = 0, BackboneLrScale = 0.25 }), CPU, seed: 1);
        var start = Weights(session.Model);
        session.Train(RandomBatch(1));
        Assert.False(Same(start["backbone.stem_norm.running_mean"], Weights(session.Model)["backbone.stem_norm.running_mean"]));
        Assert.Equal(1e-2, session.LearningRate, 12);

        // A divergence cut keeps the ratio between the groups.
        session.SetLearningRate(1e-3);
        var optimizer = typeof(TrainingSession).GetField("_optimizer", System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Instance)!.GetValue(session) as optim.Optimizer;
        var rates = optimizer!.ParamGroups.Select(g => g.LearningRate).ToArray();
        Assert.Equal([0.25e-3, 1e-3], rates, (a, b) => Math.Abs(a - b) < 1e-12);
    }

    [Fact]
    public void The_kept_imagenet_copy_never_trains_and_a_checkpoint_round_trips_the_whole_model()
    {
        var settings = Settings(new AdaptSettings { FreezeStages = 1 }, keep: true);
        using var session = new TrainingSession(settings, CPU, seed: 2);
        var start = Weights(session.Model);
        session.Train(RandomBatch(1));
        session.Train(RandomBatch(2));
        var after = Weights(session.Model);
        foreach (var name in start.Keys.Where(n => n.StartsWith("imagenet.")))
            Assert.True(Same(start[name], after[name]), $"{name} changed in the kept ImageNet copy");
        Assert.Equal(512 + 256 + 512 + 256, settings.Model.FeatureDim);

        using var folder = new TempFolder("adapt-ckpt");
        var store = new CheckpointStore(folder.Path, keep: 2);
        string path = store.Save(session.ToCheckpoint("{}", RandomBatch(2).State, 1.0, Size));
        var read = CheckpointStore.ReadIntact(path);
        Assert.Equal(ModelKind.ResNet18, read.Info.ModelKind);
        using var resumed = new TrainingSession(settings, CPU, seed: 9, resume: read);
        foreach (var (name, bytes) in after) Assert.True(Same(bytes, Weights(resumed.Model)[name]), $"{name} differs after resume");

        // The embedding of the restored encoder is the trained one's, and its kept half is the ImageNet model's.
        var pixels = RandomBatch(5).Pixels.AsSpan(0, 2 * Size * Size * 3).ToArray();
        using var trained = new FrameEmbedder(read, CPU);
        using var imagenet = FrameEmbedder.Untrained(settings.Model with { KeepImageNet = false }, Size, CPU, seed: 1);
        float[] both = trained.Embed(pixels, 2), frozen = imagenet.Embed(pixels, 2);
        int half = 256 + 512;
        for (int f = 0; f < 2; f++)
        for (int k = 0; k < half; k++)
            Assert.Equal(frozen[f * half + k] / Math.Sqrt(2), both[f * 2 * half + half + k], 4);
    }

    [Fact]
    public void The_imagenet_pull_draws_trained_weights_back_to_imagenet_and_a_resumed_run_pulls_to_imagenet_not_to_its_checkpoint()
    {
        // lr 1e-2 x backbone share 0.5 x pull 200 = 1: each step ends on the ImageNet weights, the head trains on.
        var pulled = Settings(new AdaptSettings { FreezeStages = 2, BackboneLrScale = 0.5, ImageNetPull = 200 });
        using (var session = new TrainingSession(pulled, CPU, seed: 1))
        {
            var start = Weights(session.Model);
            session.Train(RandomBatch(1));
            session.Train(RandomBatch(2));
            var after = Weights(session.Model);
            foreach (var name in start.Keys.Where(n => n.StartsWith("backbone.layer4_") && n.EndsWith("weight")))
                Assert.True(Same(start[name], after[name]), $"{name} was not pulled back to its ImageNet value");
            Assert.False(Same(start["head.fc1.weight"], after["head.fc1.weight"]));
        }

        // Half the pull: a weight ends half way between where Adam took it and ImageNet's value.
        var halfPull = Settings(new AdaptSettings { FreezeStages = 2, BackboneLrScale = 0.5, ImageNetPull = 100 });
        var free = Settings(new AdaptSettings { FreezeStages = 2, BackboneLrScale = 0.5 });
        // One after the other: the sessions share LibTorch's random stream, which each one seeds as it starts.
        const string weight = "backbone.layer3_0.conv1.weight";
        float[] imageNet, half, unpulled;
        using (var a = new TrainingSession(halfPull, CPU, seed: 1))
        {
            imageNet = Floats(Weights(a.Model)[weight]);
            a.Train(RandomBatch(1));
            half = Floats(Weights(a.Model)[weight]);
        }
        using (var b = new TrainingSession(free, CPU, seed: 1))
        {
            b.Train(RandomBatch(1));
            unpulled = Floats(Weights(b.Model)[weight]);
        }
        Assert.NotEqual(imageNet[0], unpulled[0]);
        for (int i = 0; i < imageNet.Length; i += 97) Assert.Equal((imageNet[i] + unpulled[i]) / 2, half[i], 6);

        // A run trained without the pull and resumed with it: the weights go back to ImageNet's, not to the checkpoint's.
        Checkpoint moved;
        Dictionary<string, byte[]> imageNetWeights;
        using (var session = new TrainingSession(free, CPU, seed: 3))
        {
            imageNetWeights = Weights(session.Model);
            session.Train(RandomBatch(1));
            moved = session.ToCheckpoint("{}", RandomBatch(1).State, 1.0, Size);
        }
        using (var checkpointed = TrainingSession.LoadForInference(moved, CPU))
            Assert.False(Same(imageNetWeights["backbone.layer4_2.conv2.weight"], Weights(checkpointed)["backbone.layer4_2.conv2.weight"]));
        using var resumed = new TrainingSession(pulled, CPU, seed: 3, resume: moved);
        resumed.Train(RandomBatch(2));
        Assert.True(Same(imageNetWeights["backbone.layer4_2.conv2.weight"], Weights(resumed.Model)["backbone.layer4_2.conv2.weight"]));
    }

    [Fact]
    public void The_imagenet_pull_is_refused_without_imagenet_weights_to_pull_towards()
    {
        var config = new RunConfig().WithBackbone(BackboneKind.ResNet18);
        config = config with { Trainer = config.Trainer with { Model = config.Trainer.Model with { Init = InitKind.Scratch }, Adapt = config.Trainer.Adapt with { ImageNetPull = 300 } } };
        Assert.Contains("imagenet-pull needs init imagenet", Assert.Throws<UserError>(() => config.Validated()).Message);
        var negative = new RunConfig().WithBackbone(BackboneKind.ResNet18);
        negative = negative with { Trainer = negative.Trainer with { Adapt = negative.Trainer.Adapt with { ImageNetPull = -1 } } };
        Assert.Contains("imagenet-pull must be from 0", Assert.Throws<UserError>(() => negative.Validated()).Message);
    }

    [Fact]
    public void The_centre_is_the_anchors_mean_unit_feature_of_the_averaged_model_and_centring_two_frames_on_their_mean_sets_them_opposite()
    {
        // Stages 1-2 frozen with their BatchNorm: there the features the centre averages are ImageNet's, whatever trains.
        var settings = Settings(new AdaptSettings { FreezeStages = 2, BatchNorm = BatchNormMode.Frozen }) with
        {
            Optimizer = new OptimizerSettings { LearningRate = 1e-2, WeightAverage = 0.99 },
        };
        settings = settings with { Model = settings.Model with { Centre = true } };
        using var session = new TrainingSession(settings, CPU, seed: 1);
        var batch = RandomBatch(1);
        Assert.True(session.Train(batch).Applied);   // the first step's weight is 1: the centre is this batch's mean

        int anchors = batch.Count;
        var pixels = batch.Pixels.AsSpan(0, anchors * Size * Size * 3).ToArray();
        using var plain = FrameEmbedder.Untrained(settings.Model with { Centre = false, PooledStages = [1, 2] }, Size, CPU, seed: 1);
        float[] rows = plain.Embed(pixels, anchors);   // two unit parts a frame, each divided by sqrt(2)
        int width = 64 + 128;
        var expected = new double[width];
        for (int f = 0; f < anchors; f++)
        for (int k = 0; k < width; k++)
            expected[k] += rows[f * width + k] * Math.Sqrt(2) / anchors;
        // The embedding (averaged) model holds it; the centre is a running mean of its own, not averaged again.
        float[] centre = Floats(Weights(session.EmbeddingModel)["centre"]);
        Assert.Equal(64 + 128 + 256 + 512, centre.Length);
        for (int k = 0; k < width; k++) Assert.Equal(expected[k], centre[k], 4);
        Assert.Contains(centre.Skip(width), v => v != 0);   // the trained stages' part moved too

        // Two frames centred on their own mean: in every part one is the other's opposite, so the embeddings are too.
        using var model = new ContrastiveModel(settings.Model);
        model.eval();
        using var two = FrameTensors.Normalize(FrameTensors.ToUnitRange(pixels, 2, Size, CPU));
        using (var sums = model.StageUnitSums(two))
        using (var mean = sums.div(2))
            model.MoveCentre(mean, 1);
        using var embedded = model.Embed(two);
        double cosine = embedded[0].dot(embedded[1]).item<float>();
        Assert.Equal(-1, cosine, 4);
        Assert.Equal(1, embedded[0].norm().item<float>(), 4);
    }

    private static float[] Floats(byte[] bytes) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).ToArray();

    [Theory]
    [InlineData("small", "imagenet", 96, "init imagenet needs the resnet18 backbone")]
    [InlineData("resnet18", "imagenet", 100, "multiple of 32")]
    [InlineData("resnet18", "scratch", 96, "keep-imagenet needs init imagenet")]
    public void Combinations_that_cannot_work_are_refused_before_anything_starts(string backbone, string init, int size, string expected)
    {
        Assert.True(Choice<BackboneKind>.TryParse(backbone, out var kind));
        Assert.True(Choice<InitKind>.TryParse(init, out var start));
        var config = new RunConfig().WithBackbone(kind) with { Decode = new VideoSsl.Decode.DecodeSettings { Size = size } };
        config = config with { Trainer = config.Trainer with { Model = config.Trainer.Model with { Init = start, KeepImageNet = expected.StartsWith("keep") } } };
        var e = Assert.Throws<UserError>(() => config.Validated());
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_checkpoint_whose_kind_and_backbone_disagree_is_refused()
    {
        using var folder = new TempFolder("kind");
        var small = new TrainerSettings { Model = new ModelSettings { ProjectionHidden = 32, EmbeddingDim = 16 } };
        using var session = new TrainingSession(small, CPU, seed: 1);
        var checkpoint = session.ToCheckpoint("{}", null, null, 32);
        string path = folder["lying.ckpt"];
        (checkpoint with { Info = checkpoint.Info with { ModelKind = ModelKind.ResNet18 } }).WriteAtomically(path);
        var e = Assert.Throws<UserError>(() => Checkpoint.Read(path));
        Assert.Contains("disagree", e.Message);
    }
}
