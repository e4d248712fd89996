using Microsoft.Extensions.Logging.Abstractions;
using VideoSsl.Engine;
using VideoSsl.Learning;
using VideoSsl.Sampling;
using VideoSsl.Tests.Support;
using static TorchSharp.torch;

namespace VideoSsl.Tests.Unit;

[Trait("Category", "Unit")]
public class TrainerStageTests
{
    private static readonly TrainerSettings Settings = new()
    {
        Model = new ModelSettings { ProjectionHidden = 32, EmbeddingDim = 16 },
        CheckpointEvery = 1,
        KeepCheckpoints = 100,
    };

    private static TrainingBatch RandomBatch(int seed)
    {
        var batch = new TrainingBatch(6, 32) { Count = 6, FramesIngested = seed };
        new Random(seed).NextBytes(batch.Pixels);
        return batch;
    }

    [Fact]
    public void Non_finite_losses_are_skipped_then_rolled_back_with_a_lower_learning_rate_and_never_checkpointed()
    {
        using var folder = new TempFolder("rollback");
        using var session = new TrainingSession(Settings, CPU, seed: 2);
        var store = new CheckpointStore(folder.Path, Settings.KeepCheckpoints);
        var input = new Edge<TrainingBatch>("batches", 64);
        for (int i = 0; i < 12; i++) input.Write(RandomBatch(i), CancellationToken.None);
        input.Complete();

        var trainer = new TrainerStage(session, input, _ => { }, store, "{}", 32, Settings, maxSteps: null,
            CancellationToken.None, NullLogger.Instance);
        var steps = new List<StepResult>();
        trainer.StepCompleted += step =>
        {
            steps.Add(step);
            if (step.Step == 3 && steps.Count == 3)   // poison the weights once, right after the third step
                using (no_grad()) session.Model.state_dict().Values.First(t => t.is_floating_point()).fill_(double.NaN);
        };
        trainer.Start(CancellationToken.None);
        trainer.WaitAndRethrow();

        // Step 3's checkpoint is refused (NaN weights), the next three batches are skipped, then the model returns
        // to step 2's checkpoint with half the learning rate and trains on.
        Assert.Equal([true, true, true, false, false, false, true], steps.Take(7).Select(s => s.Applied));
        Assert.Equal(3, steps[6].Step);
        Assert.Equal(Settings.Optimizer.LearningRate / 2, session.LearningRate, 12);
        Assert.Equal(Settings.Optimizer.LearningRate / 2, steps[^1].LearningRate, 12);
        Assert.True(session.WeightsAreFinite());
        foreach (string path in store.Existing())
        {
            using var restored = new TrainingSession(Settings, CPU, seed: 0, resume: Checkpoint.Read(path));
            Assert.True(restored.WeightsAreFinite(), $"{path} holds non-finite weights");
        }
        Assert.True(File.Exists(store.BestPath));
    }
}
