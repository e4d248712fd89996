using VideoSsl.Learning;
using VideoSsl.Learning.Backbones;
using VideoSsl.Sampling;
using VideoSsl.Tests.Support;
using static TorchSharp.torch;

namespace VideoSsl.Tests.Unit;

/// <summary>
/// Data-parallel training as the ranks of an MPI job do it, with the ranks as threads (<see cref="ThreadWorld"/>) so
/// that their gradients can be read: the same weights on every rank after every step, and an update that is one
/// process's average of each rank's gradient on its own batch.
/// </summary>
[Trait("Category", "Unit")]
public class DataParallelTests
{
    private const int Size = 32;

    // The small encoder with BatchNorm adapted (its running statistics must agree too); no augmentation, so the
    // reference below sees the ranks' very inputs.
    private static readonly TrainerSettings Settings = new()
    {
        Model = new ModelSettings { Backbone = BackboneKind.Small, Init = InitKind.Scratch, ProjectionHidden = 32, EmbeddingDim = 16 },
        Augment = new AugmentSettings { Enabled = false },
        Optimizer = new OptimizerSettings { LearningRate = 1e-2 },
        Threads = 1,
    };

    private static TrainingBatch BatchOf(int rank, int step) => Batches.Random(100 * rank + step, size: Size);

    /// <summary>Runs <paramref name="work"/> on every rank's thread at once and returns what each gave.</summary>
    private static T[] OnRanks<T>(ThreadWorld[] worlds, Func<ThreadWorld, T> work)
    {
        var results = new T[worlds.Length];
        var threads = worlds.Select(w => new Thread(() => results[w.Rank] = work(w))).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        return results;
    }

    private static float[] Gradients(ContrastiveModel model) =>
        model.parameters().Where(p => p.requires_grad).SelectMany(p => p.grad!.cpu().data<float>().ToArray()).ToArray();

    [Fact]
    public void Two_ranks_hold_the_same_weights_after_every_step_and_apply_the_mean_of_their_gradients()
    {
        var worlds = ThreadWorld.Create(2);
        var sessions = OnRanks(worlds, w => new TrainingSession(Settings, CPU, seed: 5, world: w));
        try
        {
            var start = new MemoryStream();
            sessions[0].Model.save(start);
            Assert.Equal(sessions[0].WeightsHash(), sessions[1].WeightsHash());   // rank 1 took rank 0's weights

            var hashes = OnRanks(worlds, w => sessions[w.Rank].Train(BatchOf(w.Rank, 0)).Applied ? sessions[w.Rank].WeightsHash() : "skipped");
            Assert.Equal(hashes[0], hashes[1]);
            Assert.NotEqual("skipped", hashes[0]);

            // One process, the same design: each rank's loss on its own batch, the gradients averaged.
            float[] expected = ReferenceGradients(start.ToArray(), [BatchOf(0, 0), BatchOf(1, 0)]);
            float[] applied = Gradients(sessions[0].Model);
            Assert.Equal(expected.Length, applied.Length);
            double scale = expected.Max(v => Math.Abs(v));
            Assert.True(scale > 0);
            for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - applied[i]) <= 1e-4 * scale, $"gradient {i}: {applied[i]} against {expected[i]}");
            Assert.Equal(Gradients(sessions[0].Model), Gradients(sessions[1].Model));

            // Rank 1's files have ended: it steps idle, rank 0's gradient alone is applied, and still on both.
            for (int step = 1; step <= 2; step++)
            {
                int s = step;
                hashes = OnRanks(worlds, w => (w.IsRoot ? sessions[0].Train(BatchOf(0, s)) : sessions[1].TrainIdle()).Applied ? sessions[w.Rank].WeightsHash() : "skipped");
                Assert.Equal(hashes[0], hashes[1]);
            }
            Assert.Equal(3, sessions[0].Step);
            Assert.Equal(3, sessions[1].Step);
        }
        finally
        {
            foreach (var s in sessions) s.Dispose();
        }
    }

    private static float[] ReferenceGradients(byte[] weights, TrainingBatch[] batches)
    {
        using var model = new ContrastiveModel(Settings.Model, initialWeights: false);
        model.load(new MemoryStream(weights));
        var objective = ContrastiveObjective.For(Settings.Loss);
        var augmenter = new BatchAugmenter(Settings.Augment);
        model.TrainMode(Settings.Adapt);
        foreach (var batch in batches)
        {
            using var scope = NewDisposeScope();
            var input = augmenter.ModelInput(batch.Pixels, batch.Count, batch.Positives * batch.Count, batch.Size, CPU);
            objective.Compute(model.forward(input), batch, batch.Count, CPU).Loss.backward();
        }
        return Gradients(model).Select(g => g / batches.Length).ToArray();
    }
}
