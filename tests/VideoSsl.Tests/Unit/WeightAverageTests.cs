using VideoSsl.Learning;
using VideoSsl.Tests.Support;
using static TorchSharp.torch;

namespace VideoSsl.Tests.Unit;

/// <summary>train --weight-average: the average follows the steps, changes none of them, and is what a checkpoint embeds.</summary>
[Trait("Category", "Unit")]
public class WeightAverageTests
{
    private const int Size = 32;
    private const double Decay = 0.7;   // reached at the third step: the test covers the mean before it and the decay after

    private static TrainerSettings Settings(double average) => new()
    {
        Model = new ModelSettings { ProjectionHidden = 32, EmbeddingDim = 16 },
        Optimizer = new OptimizerSettings { LearningRate = 1e-2, WeightAverage = average },
    };

    private static Dictionary<string, Tensor> Snapshot(ContrastiveModel model) =>
        model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    private static byte[] Bytes(Tensor t) => t.contiguous().cpu().bytes.ToArray();

    [Fact]
    public void The_average_follows_the_steps_without_changing_them_and_a_checkpoint_embeds_and_resumes_it()
    {
        // One run after the other: LibTorch's random stream (the crops) is one for the process.
        using var averaged = new TrainingSession(Settings(Decay), CPU, seed: 4);
        for (int n = 0; n < 5; n++) Assert.True(averaged.Train(Batches.Random(n, size: Size)).Applied);
        using var plain = new TrainingSession(Settings(0), CPU, seed: 4);
        Assert.Same(plain.Model, plain.EmbeddingModel);
        var expected = Snapshot(plain.Model);
        for (int n = 0; n < 5; n++)
        {
            Assert.True(plain.Train(Batches.Random(n, size: Size)).Applied);
            // The average computed here from the plain run's weights after each step, warm-up included.
            double decay = Math.Min(Decay, (1.0 + n) / (2.0 + n));
            foreach (var (name, value) in plain.Model.state_dict())
                if (value.is_floating_point()) expected[name].lerp_(value, 1 - decay);
                else expected[name].copy_(value);
        }

        // Keeping an average changes no step: the trained weights are the plain run's, bit for bit.
        var trained = Snapshot(averaged.Model);
        foreach (var (name, value) in plain.Model.state_dict())
            Assert.True(Bytes(value).AsSpan().SequenceEqual(Bytes(trained[name])), $"{name} trained differently with an average kept");
        // The embedding model holds the average, which is not the last step's weights.
        var average = Snapshot(averaged.EmbeddingModel);
        foreach (var (name, value) in expected)
            Assert.True(allclose(average[name], value, rtol: 1e-5, atol: 1e-6), $"{name} is not the running average");
        Assert.False(Bytes(average["head.fc1.weight"]).AsSpan().SequenceEqual(Bytes(trained["head.fc1.weight"])));

        using var folder = new TempFolder("weight-average");
        string path = new CheckpointStore(folder.Path, keep: 2).Save(averaged.ToCheckpoint("{}", null, 1.0, Size));
        var read = CheckpointStore.ReadIntact(path);
        Assert.NotNull(read.AveragedModel);

        // What embeds from the checkpoint is the average; what resumes is both, and the next step agrees with the run's.
        using (var inference = TrainingSession.LoadForInference(read, CPU))
            foreach (var (name, value) in inference.state_dict())
                Assert.True(Bytes(value).AsSpan().SequenceEqual(Bytes(average[name])), $"{name}: the checkpoint embeds other weights than the average");
        using var resumed = new TrainingSession(Settings(Decay), CPU, seed: 99, resume: read);
        Assert.Equal(averaged.WeightsHash(), resumed.WeightsHash());
        var next = Batches.Random(7, size: Size);
        resumed.Train(next);
        using (var state = tensor(read.RandomState, dtype: ScalarType.Byte)) set_rng_state(state);   // the stream the first run would go on with
        averaged.Train(next);
        Assert.Equal(averaged.WeightsHash(), resumed.WeightsHash());
    }

    [Fact]
    public void A_checkpoint_whose_average_is_not_finite_is_refused_on_load()
    {
        using var session = new TrainingSession(Settings(Decay), CPU, seed: 1);
        session.Train(Batches.Random(1, size: Size));
        using (no_grad()) session.EmbeddingModel.state_dict()["head.fc1.weight"].fill_(double.NaN);
        using var folder = new TempFolder("weight-average-nan");
        var checkpoint = session.ToCheckpoint("{}", null, 1.0, Size);
        string path = Path.Combine(folder.Path, "nan.ckpt");
        checkpoint.WriteAtomically(path);
        var error = Assert.Throws<VideoSsl.Engine.UserError>(() => CheckpointStore.ReadIntact(path));
        Assert.Contains("averaged weight 'head.fc1.weight'", error.Message);
        Assert.False(session.WeightsAreFinite());
    }

    [Fact]
    public void A_decay_of_one_or_more_is_refused()
    {
        Assert.Contains(Settings(1).Problems(), p => p.StartsWith("weight-average must be at least 0 and below 1"));
        Assert.Empty(Settings(0.99).Problems());
    }
}
