using VideoSsl.Engine;
using VideoSsl.Learning;
using VideoSsl.Sampling;
using VideoSsl.Tests.Support;
using static TorchSharp.torch;

namespace VideoSsl.Tests.Unit;

public class CheckpointTests
{
    private static readonly TrainerSettings Settings = new() { Model = new ModelSettings { ProjectionHidden = 32, EmbeddingDim = 16 } };

    /// <summary>A batch of random pixels with distinct anchors, enough to take real optimizer steps.</summary>
    private static TrainingBatch RandomBatch(int seed, int pairs = 6, int size = 32)
    {
        var batch = new TrainingBatch(pairs, size) { Count = pairs, FramesIngested = 100 + seed };
        new Random(seed).NextBytes(batch.Pixels);
        for (int i = 0; i < pairs; i++) batch.SourceIds[i] = i % 2;
        batch.State = new SamplerState([1, 2, 3, 4], 0, 100 + seed, seed, [], new DecodeCursor(0, 0, []));
        return batch;
    }

    private static Dictionary<string, byte[]> Weights(TrainingSession session) =>
        session.Model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.cpu().bytes.ToArray());

    [Fact]
    public void A_checkpoint_restores_weights_optimizer_and_random_state_bit_for_bit()
    {
        using var folder = new TempFolder("ckpt");
        using var original = new TrainingSession(Settings, CPU, seed: 3);
        original.Train(RandomBatch(1));
        original.Train(RandomBatch(2));
        var store = new CheckpointStore(folder.Path, keep: 3);
        var sampler = RandomBatch(2).State;
        string path = store.Save(original.ToCheckpoint("{\"seed\": 3}", sampler, 1.5, frameSize: 32));

        var read = Checkpoint.Read(path);
        Assert.Equal(2, read.Info.Step);
        Assert.Equal(102, read.Info.FramesSeen);
        Assert.Equal("{\"seed\": 3}", read.RunConfigJson);
        Assert.Equal(sampler!.Random, read.Sampler!.Random);
        using var restored = new TrainingSession(Settings, CPU, seed: 999, resume: read);
        Assert.Equal(2, restored.Step);
        var before = Weights(original);
        var after = Weights(restored);
        Assert.Equal(before.Keys, after.Keys);
        foreach (var (name, bytes) in before) Assert.True(bytes.AsSpan().SequenceEqual(after[name]), $"{name} differs");

        // Same optimizer moments and same random state: the next step is identical too. Both sessions share
        // LibTorch's one generator, which the restore set to the checkpoint's state; give each step that state.
        using var saved = get_rng_state();
        var a = original.Train(RandomBatch(3));
        set_rng_state(saved);
        var b = restored.Train(RandomBatch(3));
        Assert.Equal(a.Loss, b.Loss);
        foreach (var (name, bytes) in Weights(original)) Assert.True(bytes.AsSpan().SequenceEqual(Weights(restored)[name]), $"{name} differs after a step");
    }

    [Fact]
    public void Only_the_newest_checkpoints_are_kept_and_a_damaged_newest_one_falls_back()
    {
        using var folder = new TempFolder("ckpt-keep");
        using var session = new TrainingSession(Settings, CPU, seed: 1);
        var store = new CheckpointStore(folder.Path, keep: 2);
        for (int step = 0; step < 4; step++)
        {
            session.Train(RandomBatch(step));
            store.Save(session.ToCheckpoint("{}", null, null, 32));
        }
        Assert.Equal(["step-00000003.ckpt", "step-00000004.ckpt"], store.Existing().Select(Path.GetFileName));

        File.WriteAllBytes(store.Existing()[^1], new byte[100]);   // torn or overwritten newest file
        var warnings = new List<string>();
        var latest = store.LoadLatest(warnings.Add);
        Assert.NotNull(latest);
        Assert.Equal(3, latest.Value.Checkpoint.Info.Step);
        Assert.Single(warnings);
    }

    [Fact]
    public void A_checkpoint_of_another_model_shape_is_refused_with_a_clear_error()
    {
        using var session = new TrainingSession(Settings, CPU, seed: 1);
        session.Train(RandomBatch(0));
        var checkpoint = session.ToCheckpoint("{}", null, null, 32);
        var wider = Settings with { Model = Settings.Model with { Width = 2 } };
        var error = Assert.Throws<UserError>(() => new TrainingSession(wider, CPU, seed: 1, resume: checkpoint));
        Assert.Contains("another shape", error.Message);
    }

    [Fact]
    public void A_file_that_is_not_a_checkpoint_is_refused()
    {
        using var folder = new TempFolder("ckpt-bad");
        string path = folder["model.ckpt"];
        File.WriteAllText(path, "not a checkpoint");
        var error = Assert.Throws<UserError>(() => Checkpoint.Read(path));
        Assert.Contains(path, error.Message);
    }
}
