using VideoSsl.Engine;
using VideoSsl.Learning;
using VideoSsl.Sampling;
using VideoSsl.Tests.Support;
using static TorchSharp.torch;

namespace VideoSsl.Tests.Unit;

[Trait("Category", "Unit")]
public class CheckpointTests
{
    private static readonly TrainerSettings Settings = new() { Model = new ModelSettings { ProjectionHidden = 32, EmbeddingDim = 16 } };

    /// <summary>A batch of random pixels with distinct anchors, enough to take real optimizer steps.</summary>
    private static TrainingBatch RandomBatch(int seed, int pairs = 6, int size = 32) => Batches.Random(seed, pairs, size);

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
    public void Best_checkpoint_compares_scores_of_one_kind_only()
    {
        using var folder = new TempFolder("ckpt-best");
        using var session = new TrainingSession(Settings, CPU, seed: 3);
        session.Train(RandomBatch(1));
        Checkpoint With(double score, string kind) => session.ToCheckpoint("{}", null, 1.0, frameSize: 32, score, kind);
        double BestOnDisk(out string? kind)
        {
            var info = Checkpoint.Read(new CheckpointStore(folder.Path, keep: 3).BestPath).Info;
            kind = info.ScoreKind;
            return info.Score!.Value;
        }

        var first = new CheckpointStore(folder.Path, keep: 3);
        Assert.True(first.SaveIfBest(With(0.4, CheckpointInfo.LossScore)));
        Assert.False(first.SaveIfBest(With(0.6, CheckpointInfo.LossScore)));

        // The run is resumed with the monitor on: 1 - AUC of 0.9 is no worse than a loss of 0.4, only another measure.
        var resumed = new CheckpointStore(folder.Path, keep: 3);
        Assert.True(resumed.SaveIfBest(With(0.9, CheckpointInfo.HeldOutScore)));
        Assert.Equal(0.9, BestOnDisk(out string? kind));
        Assert.Equal(CheckpointInfo.HeldOutScore, kind);
        Assert.False(resumed.SaveIfBest(With(0.95, CheckpointInfo.HeldOutScore)));
        Assert.True(resumed.SaveIfBest(With(0.2, CheckpointInfo.HeldOutScore)));
        Assert.False(new CheckpointStore(folder.Path, keep: 3).SaveIfBest(With(0.3, CheckpointInfo.HeldOutScore)));   // read back from disk
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

    /// <summary>Bytes overwritten in the middle of the file, where the weights are: what a bad disk or a cut copy does.</summary>
    private static void Damage(string path, byte value)
    {
        byte[] bytes = File.ReadAllBytes(path);
        Array.Fill(bytes, value, bytes.Length / 2, Math.Min(4096, bytes.Length / 4));
        File.WriteAllBytes(path, bytes);
    }

    private static CheckpointStore StoreWithSteps(TempFolder folder, TrainingSession session, int steps)
    {
        var store = new CheckpointStore(folder.Path, keep: 5);
        for (int step = 0; step < steps; step++)
        {
            session.Train(RandomBatch(step));
            store.Save(session.ToCheckpoint("{}", null, null, 32));
        }
        return store;
    }

    [Theory]
    [InlineData(0xFF)]
    [InlineData(0x00)]
    public void Damaged_bytes_anywhere_are_caught_by_the_checksum_and_the_older_intact_checkpoint_is_used(byte value)
    {
        using var folder = new TempFolder("ckpt-damage");
        using var session = new TrainingSession(Settings, CPU, seed: 1);
        var store = StoreWithSteps(folder, session, 3);
        string newest = store.Existing()[^1], older = store.Existing()[^2];
        Damage(newest, value);

        var error = Assert.Throws<UserError>(() => CheckpointStore.Open(newest));   // named outright: refused
        Assert.Equal($"checkpoint '{newest}': checksum mismatch (the file is damaged)", error.Message);
        var warnings = new List<string>();
        var (checkpoint, path) = CheckpointStore.Open(folder.Path, warnings.Add);   // a run folder: the newest intact one
        Assert.Equal(older, path);
        Assert.Equal(2, checkpoint.Info.Step);
        Assert.Equal($"checkpoint '{newest}': checksum mismatch (the file is damaged); using the older '{older}'", Assert.Single(warnings));

        foreach (string other in store.Existing()) Damage(other, value);
        var none = Assert.Throws<UserError>(() => store.LoadLatest());
        Assert.Contains("none of its 3 checkpoints is intact", none.Message);
    }

    [Fact]
    public void A_checkpoint_whose_weights_are_not_finite_is_refused_even_with_a_valid_checksum()
    {
        using var folder = new TempFolder("ckpt-nan");
        using var session = new TrainingSession(Settings, CPU, seed: 1);
        session.Train(RandomBatch(0));
        using (no_grad()) session.Model.parameters().First().fill_(double.NaN);
        string path = folder["nan.ckpt"];
        session.ToCheckpoint("{}", null, null, 32).WriteAtomically(path);

        Assert.Null(Checkpoint.Read(path).IntegrityWarning);   // the file itself is intact
        var error = Assert.Throws<UserError>(() => CheckpointStore.Open(path));
        Assert.Contains("holds values that are not finite", error.Message);
    }

    [Fact]
    public void Weights_that_overflow_never_become_an_embedding()
    {
        using var session = new TrainingSession(Settings, CPU, seed: 1);
        session.Train(RandomBatch(0));
        using (no_grad())
            foreach (var parameter in session.Model.parameters()) parameter.fill_(3e38);
        var checkpoint = session.ToCheckpoint("{}", null, null, 32);
        using var embedder = new FrameEmbedder(checkpoint, CPU);
        var pixels = new byte[2 * 32 * 32 * 3];
        new Random(1).NextBytes(pixels);
        var error = Assert.Throws<UserError>(() => embedder.Embed(pixels, 2));
        Assert.Contains("not finite", error.Message);
    }

    [Fact]
    public void A_format_1_checkpoint_still_loads_with_a_warning_that_it_carries_no_checksum()
    {
        using var folder = new TempFolder("ckpt-v1");
        using var session = new TrainingSession(Settings, CPU, seed: 1);
        session.Train(RandomBatch(0));
        var checkpoint = session.ToCheckpoint("{\"seed\": 1}", null, 2.5, 32);
        string path = Path.Combine(folder.Path, "checkpoints", "step-00000001.ckpt");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        WriteFormat1(checkpoint, path);

        var warnings = new List<string>();
        var (read, _) = CheckpointStore.Open(folder.Path, warnings.Add);
        Assert.Equal(1, read.Info.Step);
        Assert.Equal(checkpoint.Model, read.Model);
        Assert.Contains("format 1 carries no checksum", Assert.Single(warnings));
    }

    /// <summary>The layout checkpoints had before format 2: the same sections, no checksum.</summary>
    private static void WriteFormat1(Checkpoint checkpoint, string path)
    {
        using var writer = new BinaryWriter(File.Create(path), System.Text.Encoding.UTF8);
        writer.Write("VSSLCKPT"u8.ToArray());
        writer.Write(1);
        var sections = new (string, byte[])[]
        {
            ("info", System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(checkpoint.Info with { FormatVersion = 1 }, Checkpoint.Json)),
            ("config", System.Text.Encoding.UTF8.GetBytes(checkpoint.RunConfigJson)),
            ("sampler", []),
            ("model", checkpoint.Model),
            ("optimizer", checkpoint.Optimizer),
            ("random", checkpoint.RandomState),
        };
        writer.Write(sections.Length);
        foreach (var (name, bytes) in sections)
        {
            writer.Write(name);
            writer.Write((long)bytes.Length);
            writer.Write(bytes);
        }
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
