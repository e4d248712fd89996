using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using VideoSsl.Engine;
using VideoSsl.Sampling;

namespace VideoSsl.Learning;

/// <summary>The kind of encoder a checkpoint holds (the format records it so that a build can refuse what it cannot load).</summary>
[JsonConverter(typeof(ChoiceConverter<ModelKind>))]
public enum ModelKind
{
    /// <summary>The four-block convolutional encoder (<see cref="Backbones.SmallBackbone"/>).</summary>
    Small,

    /// <summary>The ResNet-18 backbone (<see cref="Backbones.ResNetBackbone"/>).</summary>
    ResNet18,
}

/// <summary>
/// What a checkpoint says about the run besides its tensors. <see cref="Score"/> (lower is better), by which the
/// best checkpoint is kept, is of the kind <see cref="ScoreKind"/> names: the training signal (loss_norm smoothed
/// over recent steps) or, with the online monitor, 1 − its balanced AUC on held-out clips.
/// </summary>
public sealed record CheckpointInfo(
    int FormatVersion,
    long Step,
    long FramesSeen,
    double? LastLoss,
    DateTimeOffset SavedAt,
    ModelSettings Model,
    int FrameSize,
    double? Score = null,
    ModelKind ModelKind = ModelKind.Small,
    string? ScoreKind = null)
{
    /// <summary>Score is the smoothed training signal.</summary>
    public const string LossScore = "loss-norm";

    /// <summary>Score is 1 − the online monitor's balanced AUC.</summary>
    public const string HeldOutScore = "1-heldout-auc";

    public static ModelKind KindOf(ModelSettings model) => model.Backbone == Backbones.BackboneKind.ResNet18 ? ModelKind.ResNet18 : ModelKind.Small;
}

/// <summary>
/// One checkpoint: info, the run's full configuration (as JSON, owned by the caller), the sampler state, model
/// weights and buffers, optimizer state and LibTorch's random state. On disk it is one file of named sections
/// followed (format 2) by the SHA-256 of everything before it, so that any damage (a bad disk, a copy cut short,
/// bytes overwritten) is found on load instead of turning into NaN features or a diverging run. It is written to a
/// temporary file, flushed and then renamed over the target, so a crash at any moment leaves either the old file or
/// the new one, never a torn one. Format 1 files (no checksum) still load, with a warning.
/// </summary>
public sealed record Checkpoint(
    CheckpointInfo Info,
    string RunConfigJson,
    SamplerState? Sampler,
    byte[] Model,
    byte[] Optimizer,
    byte[] RandomState)
{
    public const int CurrentFormat = 2;
    private const int UncheckedFormat = 1;
    private const int ChecksumBytes = 32;
    private const int MaxSections = 64;
    private static readonly byte[] Magic = "VSSLCKPT"u8.ToArray();

    /// <summary>This checkpoint with its embedding read out from other stages (null: as saved); the weights are the same.</summary>
    public Checkpoint PoolingStages(int[]? stages)
    {
        if (stages is null) return this;
        var model = Info.Model with { PooledStages = stages };
        if (model.Problems().FirstOrDefault() is { } problem) throw UserError.CommandLine(problem);
        return this with { Info = Info with { Model = model } };
    }

    /// <summary>
    /// The weights averaged along the run (<see cref="OptimizerSettings.WeightAverage"/>), null when the run keeps no
    /// average. Training resumes from <see cref="Model"/>; everything that embeds takes <see cref="EmbeddingWeights"/>.
    /// An optional section: a build that predates it reads the file and embeds the last step's weights.
    /// </summary>
    public byte[]? AveragedModel { get; init; }

    /// <summary>The weights that embed: the average when the run keeps one, else the last step's.</summary>
    [JsonIgnore]
    public byte[] EmbeddingWeights => AveragedModel ?? Model;

    /// <summary>Set on a checkpoint read from a file that could not be checked (format 1): what to warn about.</summary>
    [JsonIgnore]
    public string? IntegrityWarning { get; init; }

    public static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.KebabCaseLower,
        WriteIndented = true,
    };

    public void WriteAtomically(string path)
    {
        string folder = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(folder);
        string temporary = Path.Combine(folder, "." + Path.GetFileName(path) + ".tmp");
        try
        {
            using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                using (var hashed = new HashingStream(file, hash))
                using (var writer = new BinaryWriter(hashed, Encoding.UTF8, leaveOpen: true))
                {
                    writer.Write(Magic);
                    writer.Write(CurrentFormat);
                    var sections = new (string Name, byte[] Bytes)[]
                    {
                        ("info", JsonSerializer.SerializeToUtf8Bytes(Info with { FormatVersion = CurrentFormat }, Json)),
                        ("config", Encoding.UTF8.GetBytes(RunConfigJson)),
                        ("sampler", Sampler is null ? [] : JsonSerializer.SerializeToUtf8Bytes(Sampler, Json)),
                        ("model", Model),
                        ("optimizer", Optimizer),
                        ("random", RandomState),
                    }.Concat(AveragedModel is null ? [] : new[] { ("averaged", AveragedModel) }).ToArray();
                    writer.Write(sections.Length);
                    foreach (var (name, bytes) in sections)
                    {
                        writer.Write(name);
                        writer.Write((long)bytes.Length);
                        writer.Write(bytes);
                    }
                }
                file.Write(hash.GetHashAndReset());
                file.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            // A full disk or a failing device: the previous checkpoint stays as it was, and no half-written file is left.
            try { File.Delete(temporary); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            throw;
        }
    }

    public static Checkpoint Read(string path)
    {
        try
        {
            byte[] bytes = File.ReadAllBytes(path);
            if (bytes.Length < Magic.Length + 4 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
                throw new UserError($"checkpoint '{path}': not a VideoSsl checkpoint");
            int format = BitConverter.ToInt32(bytes, Magic.Length);
            if (format is not (CurrentFormat or UncheckedFormat))
                throw new UserError($"checkpoint '{path}': format {format} is not supported (this build reads formats {UncheckedFormat} and {CurrentFormat})");
            int length = bytes.Length;
            if (format == CurrentFormat)
            {
                length -= ChecksumBytes;
                if (length < Magic.Length + 8 || !SHA256.HashData(bytes.AsSpan(0, length)).AsSpan().SequenceEqual(bytes.AsSpan(length)))
                    throw new UserError($"checkpoint '{path}': checksum mismatch (the file is damaged)");
            }
            var sections = ReadSections(path, new MemoryStream(bytes, Magic.Length + 4, length - Magic.Length - 4));
            byte[] Section(string name) => sections.TryGetValue(name, out var found)
                ? found : throw new UserError($"checkpoint '{path}': section '{name}' is missing");
            var info = JsonSerializer.Deserialize<CheckpointInfo>(Section("info"), Json)
                ?? throw new UserError($"checkpoint '{path}': empty info");
            if (info.Model is null || info.Model.Problems().Any() || info.FrameSize is < 16 or > 1024)
                throw new UserError($"checkpoint '{path}': its info describes no model this build can make");
            if (!Enum.IsDefined(info.ModelKind)) throw new UserError($"checkpoint '{path}': model kind {info.ModelKind} is not known to this build");
            if (info.ModelKind != CheckpointInfo.KindOf(info.Model))
                throw new UserError($"checkpoint '{path}': its model kind ({Engine.Choice<ModelKind>.Name(info.ModelKind)}) and its model's backbone ({Engine.Choice<Backbones.BackboneKind>.Name(info.Model.Backbone)}) disagree");
            byte[] sampler = Section("sampler");
            return new Checkpoint(
                info,
                Encoding.UTF8.GetString(Section("config")),
                sampler.Length == 0 ? null : JsonSerializer.Deserialize<SamplerState>(sampler, Json),
                Section("model"),
                Section("optimizer"),
                Section("random"))
            {
                AveragedModel = sections.GetValueOrDefault("averaged"),
                IntegrityWarning = format == UncheckedFormat
                    ? $"checkpoint '{path}': format {UncheckedFormat} carries no checksum, so damage to it cannot be detected; checkpoints written from now on are format {CurrentFormat}"
                    : null,
            };
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or JsonException or UnauthorizedAccessException or ArgumentException)
        {
            throw new UserError($"checkpoint '{path}': cannot be read ({e.Message})", e);
        }
    }

    private static Dictionary<string, byte[]> ReadSections(string path, MemoryStream stream)
    {
        using var reader = new BinaryReader(stream, Encoding.UTF8);
        var sections = new Dictionary<string, byte[]>();
        int count = reader.ReadInt32();
        if (count is < 0 or > MaxSections) throw new UserError($"checkpoint '{path}': {count} sections is not a checkpoint's layout");
        for (int i = 0; i < count; i++)
        {
            string name = reader.ReadString();
            long length = reader.ReadInt64();
            if (length < 0 || length > stream.Length - stream.Position) throw new EndOfStreamException($"section '{name}' runs past the end of the file");
            sections[name] = reader.ReadBytes((int)length);
        }
        return sections;
    }

    /// <summary>Writes through to a stream while hashing every byte (so the checksum costs no second pass).</summary>
    private sealed class HashingStream(Stream inner, IncrementalHash hash) : Stream
    {
        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
        public override void Flush() => inner.Flush();
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            hash.AppendData(buffer);
            inner.Write(buffer);
        }
    }
}

/// <summary>
/// The checkpoints of one run: <c>RUN_DIR/checkpoints/step-NNNNNNNN.ckpt</c>, the newest few kept. Loading takes
/// the newest one that reads cleanly, so one damaged file costs only the steps since the one before it.
/// </summary>
public sealed class CheckpointStore
{
    public CheckpointStore(string runDirectory, int keep)
    {
        RunDirectory = runDirectory;
        Keep = keep;
    }

    public string RunDirectory { get; }
    public int Keep { get; }
    public string Folder => Path.Combine(RunDirectory, "checkpoints");

    public string PathFor(long step) => Path.Combine(Folder, $"step-{step:D8}.ckpt");

    /// <summary>The checkpoint with the best training signal so far, kept apart from the rotation.</summary>
    public string BestPath => Path.Combine(Folder, "best.ckpt");

    public IReadOnlyList<string> Existing() => Directory.Exists(Folder)
        ? Directory.GetFiles(Folder, "step-*.ckpt").Order(StringComparer.Ordinal).ToList()
        : [];

    public string Save(Checkpoint checkpoint)
    {
        string path = PathFor(checkpoint.Info.Step);
        checkpoint.WriteAtomically(path);
        foreach (string old in Existing().SkipLast(Keep)) File.Delete(old);
        return path;
    }

    /// <summary>
    /// Writes <paramref name="checkpoint"/> as best.ckpt when its score beats the current best's; true if it did.
    /// Only scores of one kind are compared: a run resumed with the online monitor on (or off) starts best.ckpt
    /// afresh, as does a best.ckpt that does not say what its score is (written before scores had kinds).
    /// </summary>
    public bool SaveIfBest(Checkpoint checkpoint)
    {
        if (checkpoint.Info.Score is not { } score || !double.IsFinite(score)) return false;
        if (Best() is { } best && best.Kind == checkpoint.Info.ScoreKind && best.Score <= score) return false;
        checkpoint.WriteAtomically(BestPath);
        _best = (score, checkpoint.Info.ScoreKind);
        return true;
    }

    private (double Score, string? Kind)? _best;

    private (double Score, string? Kind)? Best()
    {
        if (_best is null && File.Exists(BestPath))
        {
            try
            {
                var info = Checkpoint.Read(BestPath).Info;
                if (info.Score is { } score && info.ScoreKind is { } kind) _best = (score, kind);
            }
            catch (UserError) { _best = null; }   // a damaged best is simply replaced
        }
        return _best;
    }

    /// <summary>
    /// The newest intact checkpoint and its path, or null when the run has none. A damaged newer one is passed over
    /// with a warning naming both files ("checkpoint 'P': checksum mismatch ...; using the older 'Q'").
    /// </summary>
    public (Checkpoint Checkpoint, string Path)? LoadLatest(Action<string>? warn = null)
    {
        var damaged = new List<string>();
        foreach (string path in Existing().Reverse())
        {
            try
            {
                var checkpoint = ReadIntact(path);
                foreach (string problem in damaged) warn?.Invoke($"{problem}; using the older '{path}'");
                if (checkpoint.IntegrityWarning is { } warning) warn?.Invoke(warning);
                return (checkpoint, path);
            }
            catch (UserError e)
            {
                damaged.Add(e.Message);
            }
        }
        if (damaged.Count > 0)
            throw new UserError($"run folder '{RunDirectory}': none of its {damaged.Count} checkpoints is intact (newest: {damaged[0]})");
        return null;
    }

    /// <summary>
    /// A checkpoint from a path that is either a run folder (its newest intact checkpoint) or a checkpoint file, which
    /// is refused outright when damaged.
    /// </summary>
    public static (Checkpoint Checkpoint, string Path) Open(string path, Action<string>? warn = null)
    {
        if (File.Exists(path))
        {
            var checkpoint = ReadIntact(path);
            if (checkpoint.IntegrityWarning is { } warning) warn?.Invoke(warning);
            return (checkpoint, path);
        }
        if (!Directory.Exists(path)) throw new UserError($"checkpoint '{path}': no such run folder or file");
        return new CheckpointStore(path, keep: int.MaxValue).LoadLatest(warn)
            ?? throw new UserError($"checkpoint '{path}': the run folder holds no checkpoint (checkpoints/step-*.ckpt)");
    }

    /// <summary>Reads a checkpoint and proves its weights load into its model and are all finite.</summary>
    public static Checkpoint ReadIntact(string path)
    {
        var checkpoint = Checkpoint.Read(path);
        TrainingSession.CheckWeights(checkpoint, path);
        return checkpoint;
    }
}
