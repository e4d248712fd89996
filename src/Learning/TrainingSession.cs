using System.Diagnostics;
using TorchSharp;
using VideoSsl.Engine;
using VideoSsl.Sampling;
using static TorchSharp.torch;

namespace VideoSsl.Learning;

/// <summary>What one training step did.</summary>
public sealed record StepResult(
    long Step,
    bool Applied,
    int Pairs,
    double Loss,
    double LossNorm,
    double PairAccuracy,
    double MaskedFraction,
    double MeanCandidates,
    double LearningRate,
    double Seconds,
    long FramesSeen,
    double LatencySeconds,
    double EmbeddingStd = double.NaN,
    double MeanSimilarity = double.NaN,
    QualityScores? Quality = null);

/// <summary>
/// The model, its optimizer and the step counter on one device. Each step runs inside a dispose scope, so the
/// tensors it makes are freed when it ends (without one, memory grows by megabytes a step).
/// </summary>
public sealed class TrainingSession : IDisposable
{
    private readonly TrainerSettings _settings;
    private readonly BatchAugmenter _augmenter;
    private readonly ContrastiveObjective _objective;
    private readonly optim.Optimizer _optimizer;
    private readonly TorchSharp.Modules.OptimizerHelper _optimizerState;

    /// <param name="resume">Continue from this checkpoint: weights, optimizer, step and random state.</param>
    public TrainingSession(TrainerSettings settings, Device device, long seed, Checkpoint? resume = null)
    {
        _settings = settings;
        Device = device;
        if (settings.Threads > 0) torch.set_num_threads(settings.Threads);
        ComputeDevice.Seed(seed);
        var model = new ContrastiveModel(settings.Model, initialWeights: resume is null);
        if (resume is not null)
        {
            if (!resume.Info.Model.SameShape(settings.Model))
                throw new UserError($"checkpoint holds a model of another shape ({Describe(resume.Info.Model)}) than the configuration asks for ({Describe(settings.Model)})");
            LoadWeights(model, resume.Model);
        }
        Model = model.to(device);
        _optimizer = CreateOptimizer(Model, settings);
        _optimizerState = (TorchSharp.Modules.OptimizerHelper)_optimizer;
        LearningRate = settings.Optimizer.LearningRate;
        if (resume is not null)
        {
            LoadOptimizer(resume);
            LearningRate = _optimizer.ParamGroups.Last().LearningRate;   // a rate cut before the checkpoint stays cut (the last group is the head's, at the full rate)
            using var state = tensor(resume.RandomState, dtype: ScalarType.Byte);
            torch.set_rng_state(state);
            Step = resume.Info.Step;
            FramesSeen = resume.Info.FramesSeen;
        }
        _augmenter = new BatchAugmenter(settings.Augment);
        _objective = ContrastiveObjective.For(settings.Loss);
    }

    /// <summary>The learning rate in use (the configured one, unless a divergence cut it).</summary>
    public double LearningRate { get; private set; }

    public void SetLearningRate(double learningRate)
    {
        LearningRate = learningRate;
        var groups = _optimizer.ParamGroups.ToList();
        for (int g = 0; g < groups.Count; g++) groups[g].LearningRate = learningRate * (g < groups.Count - 1 ? _settings.Adapt.BackboneLrScale : 1);
    }

    /// <summary>
    /// AdamW over what trains: the backbone's stages after the frozen ones, at <see cref="AdaptSettings.BackboneLrScale"/>
    /// times the rate, then the head at the full rate (always the last group). Frozen stages' weights take no gradient.
    /// </summary>
    private static optim.Optimizer CreateOptimizer(ContrastiveModel model, TrainerSettings settings)
    {
        var adapt = settings.Adapt;
        var backbone = model.Backbone;
        var trained = new List<TorchSharp.Modules.Parameter>();
        for (int i = 0; i < backbone.StageCount; i++)
        foreach (var module in backbone.StageModules(i))
        foreach (var p in module.parameters())
        {
            p.requires_grad = i >= adapt.FreezeStages;
            if (p.requires_grad) trained.Add(p);
        }
        double lr = settings.Optimizer.LearningRate, decay = settings.Optimizer.WeightDecay;
        var groups = new List<TorchSharp.Modules.AdamW.ParamGroup>();
        if (trained.Count > 0) groups.Add(new(trained, lr: lr * adapt.BackboneLrScale, weight_decay: decay));
        groups.Add(new(model.HeadParameters(), lr: lr, weight_decay: decay));
        return optim.AdamW(groups, lr, weight_decay: decay);
    }

    /// <summary>
    /// Returns weights, optimizer state and step counter to an earlier checkpoint of this run (after the loss went
    /// non-finite), keeping the current learning rate.
    /// </summary>
    public void RollBack(Checkpoint good)
    {
        LoadWeights(Model, good.Model);
        LoadOptimizer(good);
        SetLearningRate(LearningRate);
        Step = good.Info.Step;
    }

    private void LoadOptimizer(Checkpoint checkpoint)
    {
        using (var reader = new BinaryReader(new MemoryStream(checkpoint.Optimizer))) _optimizerState.load_state_dict(reader);
        _optimizerState.to(Device);
    }

    public ContrastiveModel Model { get; }
    public Device Device { get; }
    public long Step { get; private set; }
    public long FramesSeen { get; private set; }

    /// <summary>Batches whose loss was not finite; they changed nothing.</summary>
    public long SkippedSteps { get; private set; }

    public StepResult Train(TrainingBatch batch)
    {
        var watch = Stopwatch.StartNew();
        // How long the newest frame of the batch waited between leaving FFmpeg and going into a step.
        double latency = batch.NewestArrivalTicks > 0 ? Stopwatch.GetElapsedTime(batch.NewestArrivalTicks).TotalSeconds : double.NaN;
        int n = batch.Count;
        float loss, accuracy, spread, similarity;
        double candidates = ContrastiveLoss.MeanCandidates(n, batch.MaskedPairs / batch.Positives);
        double floor, chance;
        using (NewDisposeScope())
        {
            Model.TrainMode(_settings.Adapt);
            int k = batch.Positives;
            var input = _augmenter.ModelInput(batch.Pixels, n, k * n, batch.Size, Device);
            Tensor embedded, features = null!;
            if (_settings.Loss.OrderWeight > 0) (features, embedded) = Model.ForwardBoth(input);
            else embedded = Model.forward(input);
            var output = _objective.Compute(embedded, batch, candidates, Device);
            (floor, chance) = (output.Floor, output.Chance);
            var total = output.Loss;
            if (_settings.Loss.OrderWeight > 0)
            {
                // Time order among the anchors (one frame per moment); the positives add nothing but near pairs.
                var order = ContrastiveLoss.TimeOrder(features.narrow(0, 0, n), batch.SourceIds.AsSpan(0, n).ToArray(),
                    batch.AnchorPts.AsSpan(0, n).ToArray(), _settings.Loss.Temperature);
                total = output.Loss.add(order.mul(_settings.Loss.OrderWeight));
            }
            _optimizer.zero_grad();
            total.backward();
            // Collapse guard: the spread of the embeddings per dimension, and how alike the anchors are to each other.
            var detached = embedded.detach();
            var anchorsOnly = detached.narrow(0, 0, n);
            var spreadPerDimension = detached.std(0).mean();
            var offDiagonal = anchorsOnly.mm(anchorsOnly.t()).sum().sub(n).div(Math.Max(1, n * (n - 1)));
            // One host sync a step, for the numbers the metrics show.
            var numbers = stack([output.Loss.detach(), output.PairAccuracy, spreadPerDimension, offDiagonal]).cpu().data<float>().ToArray();
            (loss, accuracy, spread, similarity) = (numbers[0], numbers[1], numbers[2], numbers[3]);
            if (float.IsFinite(loss)) _optimizer.step();
        }

        bool applied = float.IsFinite(loss);
        if (applied) Step++;
        else SkippedSteps++;
        FramesSeen = batch.FramesIngested;
        // loss_norm runs from 1 at the objective's chance level to 0 at its best value.
        double lossNorm = chance - floor > 0 ? (loss - floor) / (chance - floor) : double.NaN;
        return new StepResult(Step, applied, n, loss, lossNorm, accuracy,
            batch.MaskedFraction, candidates, LearningRate, watch.Elapsed.TotalSeconds, FramesSeen, latency, spread, similarity);
    }

    /// <summary>True when every weight and buffer is finite (a checkpoint with NaN weights is never written).</summary>
    public bool WeightsAreFinite() => FirstNonFiniteWeight(Model) is null;

    /// <summary>The name of the first weight or buffer holding NaN or an infinity, or null when all are finite.</summary>
    private static string? FirstNonFiniteWeight(ContrastiveModel model)
    {
        using var scope = NewDisposeScope();
        return model.state_dict().FirstOrDefault(kv => kv.Value.is_floating_point() && !kv.Value.isfinite().all().item<bool>()).Key;
    }

    public Checkpoint ToCheckpoint(string runConfigJson, SamplerState? sampler, double? lastLoss, int frameSize, double? score = null)
    {
        var model = new MemoryStream();
        Model.save(model);
        var optimizer = new MemoryStream();
        using (var writer = new BinaryWriter(optimizer, System.Text.Encoding.UTF8, leaveOpen: true)) _optimizerState.save_state_dict(writer);
        using var random = torch.get_rng_state();
        var info = new CheckpointInfo(Checkpoint.CurrentFormat, Step, FramesSeen, lastLoss, DateTimeOffset.UtcNow, _settings.Model, frameSize, score,
            CheckpointInfo.KindOf(_settings.Model));
        return new Checkpoint(info, runConfigJson, sampler, model.ToArray(), optimizer.ToArray(), random.bytes.ToArray());
    }

    /// <summary>A model with a checkpoint's weights, in evaluation mode, for embedding.</summary>
    public static ContrastiveModel LoadForInference(Checkpoint checkpoint, Device device)
    {
        ComputeDevice.EnsureLibTorch();
        var model = new ContrastiveModel(checkpoint.Info.Model, initialWeights: false);
        LoadWeights(model, checkpoint.Model);
        var moved = model.to(device);
        moved.eval();
        return moved;
    }

    /// <summary>
    /// Loads a checkpoint's weights into a model of its shape on the CPU and checks every one is finite: a damaged
    /// checkpoint must be refused on load, not found out from NaN features or a run that diverges at once.
    /// </summary>
    public static void CheckWeights(Checkpoint checkpoint, string path)
    {
        ComputeDevice.EnsureLibTorch();
        using var scope = NewDisposeScope();
        using var model = new ContrastiveModel(checkpoint.Info.Model, initialWeights: false);
        try
        {
            LoadWeights(model, checkpoint.Model);
        }
        catch (UserError e)
        {
            throw new UserError($"checkpoint '{path}': {e.Message}", e);
        }
        if (FirstNonFiniteWeight(model) is { } name)
            throw new UserError($"checkpoint '{path}': weight '{name}' holds values that are not finite (NaN or infinite)");
    }

    private static void LoadWeights(ContrastiveModel model, byte[] weights)
    {
        try
        {
            model.load(new MemoryStream(weights));
        }
        catch (Exception e) when (e is ArgumentException or System.Runtime.InteropServices.ExternalException or EndOfStreamException)
        {
            throw new UserError($"checkpoint weights do not fit the model ({Describe(model.Settings)}): {e.Message.Split('\n')[0]}", e);
        }
    }

    private static string Describe(ModelSettings m) =>
        $"{Engine.Choice<Backbones.BackboneKind>.Name(m.Backbone)}{(m.Backbone == Backbones.BackboneKind.Small ? $" width {m.Width}" : "")}, projection {m.ProjectionHidden}, embedding {m.EmbeddingDim}, "
        + $"pooled stages {string.Join(",", m.PooledStageIndexes.Select(i => i + 1))}{(m.KeepImageNet ? ", ImageNet kept beside" : "")}";

    public void Dispose()
    {
        _optimizer.Dispose();
        Model.Dispose();
    }
}
