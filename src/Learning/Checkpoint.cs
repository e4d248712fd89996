using System.Text;
using System.Text.Json;
using VideoSsl.Engine;
using VideoSsl.Sampling;

namespace VideoSsl.Learning;

/// <summary>
/// What a checkpoint says about the run besides its tensors. <see cref="Score"/> is the training signal when it was
/// written (loss_norm smoothed over recent steps; lower is better), by which the best checkpoint is kept.
/// </summary>
public sealed record CheckpointInfo(
    int FormatVersion,
    long Step,
    long FramesSeen,
    double? LastLoss,
    DateTimeOffset SavedAt,
    ModelSettings Model,
    int FrameSize,
    double? Score = null);

/// <summary>
/// One checkpoint: info, the run's full configuration (as JSON, owned by the caller), the sampler state, model
/// weights and buffers, optimizer state and LibTorch's random state. On disk it is one file of named sections;
/// it is written to a temporary file, flushed and then renamed over the target, so a crash at any moment leaves
/// either the old file or the new one, never a torn one.
/// </summary>
public sealed record Checkpoint(
    CheckpointInfo Info,
    string RunConfigJson,
    SamplerState? Sampler,
    byte[] Model,
    byte[] Optimizer,
    byte[] RandomState)
{
    public const int CurrentFormat = 1;
    private static readonly byte[] Magic = "VSSLCKPT"u8.ToArray();

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
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            using (var writer = new BinaryWriter(file, Encoding.UTF8, leaveOpen: true))
            {
                writer.Write(Magic);
                writer.Write(CurrentFormat);
                var sections = new (string Name, byte[] Bytes)[]
                {
                    ("info", JsonSerializer.SerializeToUtf8Bytes(Info, Json)),
                    ("config", Encoding.UTF8.GetBytes(RunConfigJson)),
                    ("sampler", Sampler is null ? [] : JsonSerializer.SerializeToUtf8Bytes(Sampler, Json)),
                    ("model", Model),
                    ("optimizer", Optimizer),
                    ("random", RandomState),
                };
                writer.Write(sections.Length);
                foreach (var (name, bytes) in sections)
                {
                    writer.Write(name);
                    writer.Write((long)bytes.Length);
                    writer.Write(bytes);
                }
            }
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
    }

    public static Checkpoint Read(string path)
    {
        try
        {
            using var file = File.OpenRead(path);
            using var reader = new BinaryReader(file, Encoding.UTF8);
            if (!reader.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
                throw new UserError($"checkpoint '{path}': not a VideoSsl checkpoint");
            int format = reader.ReadInt32();
            if (format != CurrentFormat)
                throw new UserError($"checkpoint '{path}': format {format} is not supported (this build reads format {CurrentFormat})");
            var sections = new Dictionary<string, byte[]>();
            int count = reader.ReadInt32();
            for (int i = 0; i < count; i++)
            {
                string name = reader.ReadString();
                long length = reader.ReadInt64();
                if (length < 0 || length > file.Length - file.Position) throw new EndOfStreamException();
                sections[name] = reader.ReadBytes((int)length);
            }
            byte[] Section(string name) => sections.TryGetValue(name, out var bytes)
                ? bytes : throw new UserError($"checkpoint '{path}': section '{name}' is missing");
            var info = JsonSerializer.Deserialize<CheckpointInfo>(Section("info"), Json)
                ?? throw new UserError($"checkpoint '{path}': empty info");
            byte[] sampler = Section("sampler");
            return new Checkpoint(
                info,
                Encoding.UTF8.GetString(Section("config")),
                sampler.Length == 0 ? null : JsonSerializer.Deserialize<SamplerState>(sampler, Json),
                Section("model"),
                Section("optimizer"),
                Section("random"));
        }
        catch (Exception e) when (e is EndOfStreamException or IOException or JsonException or UnauthorizedAccessException)
        {
            throw new UserError($"checkpoint '{path}': cannot be read ({e.Message})", e);
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

    /// <summary>Writes <paramref name="checkpoint"/> as best.ckpt when its score beats the current best's; true if it did.</summary>
    public bool SaveIfBest(Checkpoint checkpoint)
    {
        if (checkpoint.Info.Score is not { } score || !double.IsFinite(score)) return false;
        if (BestScore() is { } best && best <= score) return false;
        checkpoint.WriteAtomically(BestPath);
        _bestScore = score;
        return true;
    }

    private double? _bestScore;

    private double? BestScore()
    {
        if (_bestScore is null && File.Exists(BestPath))
        {
            try { _bestScore = Checkpoint.Read(BestPath).Info.Score; }
            catch (UserError) { _bestScore = null; }   // a damaged best is simply replaced
        }
        return _bestScore;
    }

    /// <summary>The newest readable checkpoint and its path, or null when the run has none.</summary>
    public (Checkpoint Checkpoint, string Path)? LoadLatest(Action<string>? warn = null)
    {
        foreach (string path in Existing().Reverse())
        {
            try { return (Checkpoint.Read(path), path); }
            catch (UserError e) { warn?.Invoke(e.Message + "; trying an older one"); }
        }
        return null;
    }

    /// <summary>A checkpoint from a path that is either a run folder or a checkpoint file.</summary>
    public static (Checkpoint Checkpoint, string Path) Open(string path)
    {
        if (File.Exists(path)) return (Checkpoint.Read(path), path);
        if (!Directory.Exists(path)) throw new UserError($"checkpoint '{path}': no such run folder or file");
        return new CheckpointStore(path, keep: int.MaxValue).LoadLatest()
            ?? throw new UserError($"checkpoint '{path}': the run folder holds no checkpoint (checkpoints/step-*.ckpt)");
    }
}
