using System.Diagnostics;
using TorchSharp;
using VideoSsl.Engine;
using VideoSsl.Engine.Distributed;
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
    QualityScores? Quality = null,
    int? WorldPairs = null,
    double? AllreduceSeconds = null);

/// <summary>
/// The model, its optimizer and the step counter on one device. Each step runs inside a dispose scope, so the
/// tensors it makes are freed when it ends (without one, memory grows by megabytes a step).
///
/// Across the ranks of an MPI job (data parallel, as Horovod does it): every rank starts from rank 0's weights and
/// optimizer state, and every step sums all ranks' gradients in one fused buffer, divides by the ranks that had a
/// batch, and applies the same update everywhere, so all ranks hold the same weights after every step. BatchNorm
/// layers that train normalise with their own rank's batch; their running statistics are averaged the same way
/// each step, so they too are the same on every rank. A batch that is not finite on any rank is skipped by all.
/// </summary>
public sealed class TrainingSession : IDisposable
{
    private readonly World _world;
    private readonly TrainerSettings _settings;
    private readonly BatchAugmenter _augmenter;
    private readonly ContrastiveObjective _objective;
    private readonly optim.Optimizer _optimizer;
    private readonly TorchSharp.Modules.OptimizerHelper _optimizerState;

    /// <param name="resume">Continue from this checkpoint: weights, optimizer, step and random state.</param>
    /// <param name="world">The ranks this model trains across (default: this process alone).</param>
    public TrainingSession(TrainerSettings settings, Device device, long seed, Checkpoint? resume = null, World? world = null)
    {
        _world = world ?? new SingleProcess();
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
        if (settings.Adapt.ImageNetPull > 0) _imageNetAnchors = ImageNetAnchors(Model, fresh: resume is null, device);
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
        if (_world.IsDistributed && settings.Optimizer.ScaleLrWithRanks && resume is null)
            SetLearningRate(LearningRate * _world.Size);   // a resumed run's groups already hold the scaled rate
        if (_world.IsDistributed)
        {
            StartFromRootsState();
            // The same weights everywhere, different random crops: each rank's random stream of its own.
            if (!_world.IsRoot) ComputeDevice.Seed(unchecked(seed + 1_000_003L * _world.Rank + Step));
        }
        if (settings.Optimizer.WeightAverage > 0) _averaged = StartAverage(resume);
        _augmenter = new BatchAugmenter(settings.Augment);
        _objective = ContrastiveObjective.For(settings.Loss);
    }

    private readonly ContrastiveModel? _averaged;
    private List<(Tensor Live, Tensor Average, bool Floating)>? _averagePairs;

    /// <summary>
    /// The model that embeds: the weights averaged along the run with <see cref="OptimizerSettings.WeightAverage"/>
    /// (in evaluation mode, never trained), otherwise the trained model itself. The online monitor and the overlay measure it.
    /// </summary>
    public ContrastiveModel EmbeddingModel => _averaged ?? Model;

    /// <summary>
    /// A second copy of the model for the average: a fresh run starts it at the starting weights, a resumed one at the
    /// checkpoint's average (or its weights, when it kept none). Under MPI rank 0's copy goes to every rank.
    /// </summary>
    private ContrastiveModel StartAverage(Checkpoint? resume)
    {
        byte[] start = resume?.AveragedModel ?? WeightBytes(Model);
        if (_world.IsDistributed) start = _world.Broadcast(_world.IsRoot ? start : null);
        // Making a model draws its initial weights from LibTorch's random stream: put the stream back, so that keeping
        // an average changes no crop of the run.
        using var random = torch.get_rng_state();
        var averaged = new ContrastiveModel(_settings.Model, initialWeights: false);
        torch.set_rng_state(random);
        LoadWeights(averaged, start);
        foreach (var p in averaged.parameters()) p.requires_grad = false;
        var moved = averaged.to(Device);
        moved.eval();
        return moved;
    }

    /// <summary>
    /// average += (1 - d) (weights - average) after every applied step, d = min(decay, (1 + n) / (2 + n)) for the
    /// n-th step (0-based: until the window is full, the mean of every step's weights so far); buffers that are not floating point (BatchNorm's batch counters) are copied.
    /// </summary>
    private void UpdateAverage()
    {
        if (_averaged is null) return;
        if (_averagePairs is null)
        {
            var average = _averaged.state_dict();
            // The centre is not averaged: it is already a running mean, of the averaged model's own features (UpdateCentre).
            _averagePairs = Model.state_dict().Where(kv => kv.Key != ContrastiveModel.CentreBuffer)
                .Select(kv => (kv.Value, average[kv.Key], kv.Value.is_floating_point())).ToList();
        }
        double decay = Math.Min(_settings.Optimizer.WeightAverage, (1.0 + Step) / (2.0 + Step));
        using var noGrad = no_grad();
        foreach (var (live, average, floating) in _averagePairs)
        {
            if (floating) average.lerp_(live, 1 - decay);
            else average.copy_(live);
        }
    }

    // The centre moves every fourth step: its forward pass of the anchors cost a quarter of the steps when it ran on
    // every one (resnet18 at 128 px, 2 CPU cores), and 25 updates of 32 anchors still make a mean of 800 frames.
    private const int CentreEvery = 4;

    /// <summary>Per update, how much of the centre stays (about the last 25 updates, a hundred steps, make it).</summary>
    private const double CentreDecay = 0.96;

    /// <summary>
    /// Every <see cref="CentreEvery"/> steps, moves the embedding model's centre (<see cref="ModelSettings.Centre"/>)
    /// towards the mean of this batch's anchors as the embedding sees frames (whole, not augmented, in evaluation
    /// mode): the plain mean of every update's anchors for the first hundred steps, then about the last hundred
    /// steps'. Under MPI the ranks' sums are added first (an idle rank adds nothing), so the centre stays the same on
    /// every rank.
    /// </summary>
    private void UpdateCentre(TrainingBatch? batch)
    {
        if (!_settings.Model.Centre || Step % CentreEvery != 0) return;
        var model = EmbeddingModel;
        int length = _settings.Model.CentreLength;
        int count = batch?.Count ?? 0;
        Tensor sums;
        if (count > 0)
        {
            model.eval();
            using var input = FrameTensors.Normalize(FrameTensors.ToUnitRange(batch!.Pixels, count, batch.Size, Device));
            sums = model.StageUnitSums(input);
            if (ReferenceEquals(model, Model)) Model.TrainMode(_settings.Adapt);
        }
        else sums = zeros(length);
        if (_world.IsDistributed)
        {
            var summed = new float[length + 1];
            using (var host = sums.cpu()) host.data<float>().CopyTo(summed, 0);
            summed[^1] = count;
            _world.SumInPlace(summed);
            count = (int)summed[^1];
            sums.Dispose();
            sums = tensor(summed.AsSpan(0, length).ToArray());
        }
        using (sums)
        {
            if (count == 0) return;
            using var mean = sums.div(count);
            model.MoveCentre(mean, Math.Max(1.0 / (1 + Step / CentreEvery), 1 - CentreDecay));
        }
    }

    /// <summary>Rank 0's weights, buffers and optimizer state on every rank (Horovod's broadcast of parameters and optimizer state).</summary>
    private void StartFromRootsState()
    {
        byte[] rootWeights = _world.Broadcast(_world.IsRoot ? WeightBytes(Model) : null);
        byte[] rootOptimizer = _world.Broadcast(_world.IsRoot ? OptimizerBytes() : null);
        if (_world.IsRoot) return;
        LoadWeights(Model, rootWeights);
        using var reader = new BinaryReader(new MemoryStream(rootOptimizer));
        _optimizerState.load_state_dict(reader);
        _optimizerState.to(Device);
    }

    private double _lastAllreduceSeconds;

    /// <summary>Seconds this rank spent in the gradient allreduce (waiting for the others included), over the run.</summary>
    public double AllreduceSeconds { get; private set; }

    private List<Tensor>? _trained;
    private List<Tensor>? _trainingBuffers;
    private List<Tensor>? _batchCounters;
    private float[]? _fused;

    /// <summary>
    /// One allreduce of every trained parameter's gradient, the running statistics of every BatchNorm in training mode,
    /// and two counts (ranks with a batch, ranks whose loss was not finite); the gradients and statistics become the
    /// mean over the ranks with a batch. False when no rank had a batch or any rank's loss was not finite: no step then.
    /// </summary>
    private bool AverageAcrossRanks(bool contributes, bool finite)
    {
        if (_trained is null || _trainingBuffers is null || _batchCounters is null)
        {
            // What trains never changes during a run: found once, on the first step.
            _trained = Model.parameters().Where(p => p.requires_grad).Cast<Tensor>().ToList();
            var training = Model.modules().OfType<TorchSharp.Modules.BatchNorm>().Where(m => m.training).ToList();
            _trainingBuffers = training.SelectMany(m => new[] { m.running_mean, m.running_var }).OfType<Tensor>().ToList();
            _batchCounters = training.Select(m => m.num_batches_tracked).OfType<Tensor>().ToList();
        }
        foreach (var p in _trained.Where(p => p.grad is null))
        {
            // A rank whose first step is idle has no gradient tensors yet: a zero backward makes them.
            using var zero = p.sum().mul(0);
            zero.backward();
        }
        using var scope = NewDisposeScope();
        bool useful = contributes && finite;
        var parts = _trained.Select(p => p.grad!.flatten()).Concat(_trainingBuffers.Select(b => b.flatten())).ToList();
        using var joined = parts.Count > 0 ? cat(parts, 0).to(ScalarType.Float32).cpu() : zeros(0);
        int length = (int)joined.shape[0];
        // One buffer for the whole run (tens of megabytes for resnet18): a new one every step was garbage for the GC.
        if (_fused?.Length != length + 2) _fused = new float[length + 2];
        var fused = _fused;
        if (useful) joined.data<float>().CopyTo(fused, 0);
        else Array.Clear(fused, 0, length);
        fused[^2] = contributes ? 1 : 0;
        fused[^1] = finite ? 0 : 1;
        long started = Stopwatch.GetTimestamp();
        _world.SumInPlace(fused);
        _lastAllreduceSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        AllreduceSeconds += _lastAllreduceSeconds;
        float ranks = fused[^2], notFinite = fused[^1];
        // A rank with a batch counted it in its BatchNorm layers' forward; an idle one counts it here, so the counts agree.
        if (ranks > 0 && !contributes)
            using (no_grad())
                foreach (var counter in _batchCounters) counter.add_(1);
        if (ranks == 0 || notFinite > 0) return false;
        var mean = tensor(fused).div_(ranks).to(Device);   // its last two values, the counts, are left unread
        long offset = 0;
        foreach (var target in _trained.Select(p => p.grad!).Concat(_trainingBuffers))
        {
            long count = target.numel();
            using var slice = mean.narrow(0, offset, count).view(target.shape);
            using (no_grad()) target.copy_(slice);
            offset += count;
        }
        return true;
    }

    /// <summary>A step of a rank that has no batch (its files have ended while others' go on): it adds nothing to the gradient and applies the same update.</summary>
    public StepResult TrainIdle()
    {
        var watch = Stopwatch.StartNew();
        bool applied;
        using (NewDisposeScope())
        {
            Model.TrainMode(_settings.Adapt);   // which BatchNorm layers train decides what the fused buffer holds
            _optimizer.zero_grad();
            applied = AverageAcrossRanks(contributes: false, finite: true);
            if (applied)
            {
                _optimizer.step();
                PullTowardsImageNet();
                UpdateAverage();
                UpdateCentre(null);
            }
        }
        if (applied) Step++;
        return new StepResult(Step, applied, 0, double.NaN, double.NaN, double.NaN, 0, 0, LearningRate, watch.Elapsed.TotalSeconds, FramesSeen, double.NaN,
            AllreduceSeconds: _lastAllreduceSeconds);
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

    private readonly List<(Tensor Weight, Tensor ImageNet)>? _imageNetAnchors;

    /// <summary>
    /// Each trained backbone weight beside its ImageNet value on the device. A fresh run copies them from the model
    /// before its first step; a resumed one reads them from the ONNX model again (the checkpoint holds adapted weights).
    /// </summary>
    private static List<(Tensor, Tensor)> ImageNetAnchors(ContrastiveModel model, bool fresh, Device device)
    {
        using var loaded = fresh ? null : Backbones.Backbone.Create(model.Settings);
        if (loaded is not null) Backbones.ImageNetWeights.Load((Backbones.ResNetBackbone)loaded);
        var start = (loaded ?? model.Backbone).named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var noGrad = no_grad();
        return model.Backbone.named_parameters().Where(p => p.parameter.requires_grad)
            .Select(p => ((Tensor)p.parameter, start[p.name].detach().clone().to(device))).ToList();
    }

    /// <summary>L2-SP after the step: w += rate (w_ImageNet - w), rate the pull times the backbone group's learning rate (a cut rate pulls less too).</summary>
    private void PullTowardsImageNet()
    {
        if (_imageNetAnchors is not { Count: > 0 } anchors) return;
        double rate = Math.Min(1, _optimizer.ParamGroups.First().LearningRate * _settings.Adapt.ImageNetPull);
        using var noGrad = no_grad();
        foreach (var (weight, imageNet) in anchors) weight.lerp_(imageNet, rate);
    }

    /// <summary>
    /// Returns weights, optimizer state and step counter to an earlier checkpoint of this run (after the loss went
    /// non-finite), keeping the current learning rate.
    /// </summary>
    public void RollBack(Checkpoint good)
    {
        LoadWeights(Model, good.Model);
        if (_averaged is not null) LoadWeights(_averaged, good.AveragedModel ?? good.Model);
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
        bool applied;
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
            applied = _world.IsDistributed ? AverageAcrossRanks(contributes: true, finite: float.IsFinite(loss)) : float.IsFinite(loss);
            if (applied)
            {
                _optimizer.step();
                PullTowardsImageNet();
                UpdateAverage();
                UpdateCentre(batch);
            }
        }

        if (applied) Step++;
        else SkippedSteps++;
        FramesSeen = batch.FramesIngested;
        // loss_norm runs from 1 at the objective's chance level to 0 at its best value.
        double lossNorm = chance - floor > 0 ? (loss - floor) / (chance - floor) : double.NaN;
        return new StepResult(Step, applied, n, loss, lossNorm, accuracy,
            batch.MaskedFraction, candidates, LearningRate, watch.Elapsed.TotalSeconds, FramesSeen, latency, spread, similarity,
            AllreduceSeconds: _world.IsDistributed ? _lastAllreduceSeconds : null);
    }

    /// <summary>A hash of every weight and buffer, the average's included (hex, 16 digits): equal on every rank of a job after every step.</summary>
    public string WeightsHash()
    {
        using var scope = NewDisposeScope();
        using var hash = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256);
        foreach (var model in new[] { Model, _averaged }.OfType<ContrastiveModel>())
        foreach (var (_, value) in model.state_dict())
            hash.AppendData(value.contiguous().cpu().bytes);
        return Convert.ToHexString(hash.GetHashAndReset(), 0, 8);
    }

    /// <summary>True when every weight and buffer is finite (a checkpoint with NaN weights is never written).</summary>
    public bool WeightsAreFinite() => FirstNonFiniteWeight(Model) is null && (_averaged is null || FirstNonFiniteWeight(_averaged) is null);

    /// <summary>The name of the first weight or buffer holding NaN or an infinity, or null when all are finite.</summary>
    private static string? FirstNonFiniteWeight(ContrastiveModel model)
    {
        using var scope = NewDisposeScope();
        return model.state_dict().FirstOrDefault(kv => kv.Value.is_floating_point() && !kv.Value.isfinite().all().item<bool>()).Key;
    }

    public Checkpoint ToCheckpoint(string runConfigJson, SamplerState? sampler, double? lastLoss, int frameSize, double? score = null, string scoreKind = CheckpointInfo.LossScore)
    {
        using var random = torch.get_rng_state();
        var info = new CheckpointInfo(Checkpoint.CurrentFormat, Step, FramesSeen, lastLoss, DateTimeOffset.UtcNow, _settings.Model, frameSize, score,
            CheckpointInfo.KindOf(_settings.Model), score is null ? null : scoreKind);
        return new Checkpoint(info, runConfigJson, sampler, WeightBytes(Model), OptimizerBytes(), random.bytes.ToArray())
        {
            AveragedModel = _averaged is null ? null : WeightBytes(_averaged),
        };
    }

    /// <summary>A model with a checkpoint's weights, in evaluation mode, for embedding.</summary>
    public static ContrastiveModel LoadForInference(Checkpoint checkpoint, Device device)
    {
        ComputeDevice.EnsureLibTorch();
        var model = new ContrastiveModel(checkpoint.Info.Model, initialWeights: false);
        LoadWeights(model, checkpoint.EmbeddingWeights);
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
        foreach (var (weights, which) in new[] { (checkpoint.Model, ""), (checkpoint.AveragedModel, "averaged ") })
        {
            if (weights is null) continue;
            try
            {
                LoadWeights(model, weights);
            }
            catch (UserError e)
            {
                throw new UserError($"checkpoint '{path}': {which}{e.Message}", e);
            }
            if (FirstNonFiniteWeight(model) is { } name)
                throw new UserError($"checkpoint '{path}': {which}weight '{name}' holds values that are not finite (NaN or infinite)");
        }
    }

    /// <summary>A model's weights and buffers as a checkpoint stores them (TorchSharp's format).</summary>
    private static byte[] WeightBytes(ContrastiveModel model)
    {
        var bytes = new MemoryStream();
        model.save(bytes);
        return bytes.ToArray();
    }

    private byte[] OptimizerBytes()
    {
        var bytes = new MemoryStream();
        using (var writer = new BinaryWriter(bytes, System.Text.Encoding.UTF8, leaveOpen: true)) _optimizerState.save_state_dict(writer);
        return bytes.ToArray();
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
        foreach (var (_, imageNet) in _imageNetAnchors ?? []) imageNet.Dispose();
        _optimizer.Dispose();
        _averaged?.Dispose();
        Model.Dispose();
    }
}
