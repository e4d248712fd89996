using System.Diagnostics;
using Microsoft.Extensions.Logging;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Engine.Distributed;
using VideoSsl.Graph.Outputs;
using VideoSsl.Learning;
using VideoSsl.Messages;

namespace VideoSsl.Graph;

/// <summary>What to embed, with which checkpoint, into which file.</summary>
/// <param name="Threads">LibTorch threads (0: LibTorch's choice, one per core); equal threads give equal bytes.</param>
/// <param name="Shard">Embed only this share of the files, into FILE.shard-I-of-N.npy (a job-array worker's part; see <see cref="EmbeddingShards"/>).</param>
public sealed record EmbedRequest(string Checkpoint, IReadOnlyList<string> Sources, string Out, double? Fps, DeviceChoice Device, int Batch = 64,
    int[]? PooledStages = null, int Threads = 0, WorkShare? Shard = null);

/// <summary>
/// The embedding graph: decode -> embed. Sources are read one after another, every frame at the checkpoint's
/// frame size (and at <see cref="EmbedRequest.Fps"/> when given), and each becomes one row of the output array.
/// Across the ranks of an MPI job each rank embeds its block of the files (split after the folder walk) and rank 0
/// writes every rank's rows, in rank order, into the one output: the same bytes as one process at the same threads.
/// Ranks other than 0 hold their rows in memory until then (up to 2 GB each).
/// </summary>
public sealed class EmbeddingGraph
{
    private readonly ILoggerFactory _logs;
    private readonly ILogger _log;

    public EmbeddingGraph(ILoggerFactory logs)
    {
        _logs = logs;
        _log = logs.CreateLogger("embed");
    }

    public EmbeddingSummary Run(EmbedRequest request, IRunObserver? observer, CancellationToken stop, World? world = null)
    {
        world ??= new SingleProcess();
        if (request.Threads < 0) throw UserError.CommandLine($"threads must be 0 (one per core) or more (got {request.Threads})");
        if (world.IsDistributed && request.Shard is { IsWhole: false })
            throw UserError.CommandLine($"shard {request.Shard}: under an MPI launcher the ranks share the files already; give --shard or mpirun, not both");
        var share = world.IsDistributed ? WorkShare.OfRank(world) : request.Shard ?? WorkShare.Whole;
        string npyPath = request.Shard is { IsWhole: false } shard ? EmbeddingShards.PathFor(request.Out, shard) : request.Out;
        if (request.Batch < 1) throw UserError.CommandLine($"batch must be at least 1 (got {request.Batch})");
        if (request.Fps is { } fps && !(fps > 0 && fps <= 240)) throw UserError.CommandLine($"fps must be above 0 and at most 240 (got {fps})");
        if (!request.Out.EndsWith(".npy", StringComparison.OrdinalIgnoreCase))
            throw UserError.CommandLine($"out '{request.Out}': the embeddings file must end in .npy");
        var (checkpoint, checkpointPath) = CheckpointStore.Open(request.Checkpoint, message => _log.LogWarning("{Message}", message));
        checkpoint = checkpoint.PoolingStages(request.PooledStages);
        var prepared = SourcePreparation.Prepare(request.Sources, realtime: false, _log, stop, share);
        if (prepared.Live.Count > 0)
            throw new UserError($"source '{prepared.Live[0].Path}': embed reads video files; a live source has no end to embed up to");
        var settings = new DecodeSettings { Size = checkpoint.Info.FrameSize, Fps = request.Fps, ParallelSources = 1 };
        var schedule = DecodeSchedule.Files(prepared.Files, epochs: 1, settings);

        var device = ComputeDevice.Resolve(request.Device);
        if (request.Threads > 0) TorchSharp.torch.set_num_threads(request.Threads);
        using var embedder = new FrameEmbedder(checkpoint, device);
        _log.LogInformation("embed: checkpoint {Checkpoint} (step {Step}), {Count} source(s){Share}, {Dimension}-d features, device {Device}",
            checkpointPath, checkpoint.Info.Step, prepared.Files.Count, share.IsWhole ? "" : $" (share {share} of the files{(world.IsDistributed ? ", MPI rank " + world.Rank : "")})",
            embedder.Dimension, device.type);

        // Rank 0 (or a lone process) writes the files; another rank keeps its rows for rank 0.
        using var files = world.IsRoot ? new EmbeddingFiles(npyPath, embedder.Dimension) : null;
        var held = world.IsRoot ? null : new EmbeddingBuffer();
        using var halt = CancellationTokenSource.CreateLinkedTokenSource(stop);
        // The graph: decode -> frames -> embed, the frames' consumer waking once per burst (files only).
        var graph = new PipelineGraph();
        var frames = graph.Edge<DecodeOutput>("frames", settings.QueueFrames, wakeBurst: 8);
        var decode = graph.Stage(new DecodeStage(schedule, [], settings, DecodeResumePoint.FromStart(1), null, _logs.CreateLogger("decode"), output: frames));
        var embed = graph.Stage(new EmbedStage(frames, embedder, (IEmbeddingSink?)files ?? held!, request.Batch));
        var reports = new List<SourceReport>();
        embed.SourceEnded += message =>
        {
            var o = message.Outcome!;
            reports.Add(new SourceReport(message.Item.Source.Path, 0, o.FramesDelivered, o.ExpectedFrames, o.Error, o.LooksPartial, o.Stopped));
            if (o.Error is not null || o.LooksPartial)
                _log.LogWarning("source '{Source}': {Frames} of {Expected} expected frames{Error}", message.Item.Source.Path,
                    o.FramesDelivered, o.ExpectedFrames, o.Error is null ? " (partial file)" : $" ({o.Error})");
        };

        var clock = Stopwatch.StartNew();
        long expected = schedule.Sum(w => w.ExpectedFrames);
        try
        {
            graph.Run(halt, 4, () => observer?.OnProgress(new RunProgress(
                clock.Elapsed.TotalSeconds, 0, null, embed.Snapshot().ItemsOut, expected, null, 0, graph.Snapshots(), null)));
        }
        catch
        {
            files?.Discard();
            throw;
        }
        if (!world.IsDistributed)
        {
            files!.Complete();
            return new EmbeddingSummary(files.NpyPath, files.CsvPath, files.Rows, embedder.Dimension, reports, stop.IsCancellationRequested);
        }

        // Every rank's rows to rank 0, written after its own in rank order; whether any rank was interrupted, to all.
        var parts = world.GatherToRoot(held?.ToMessage() ?? []);
        bool interrupted = world.Max(stop.IsCancellationRequested ? 1 : 0) > 0;
        foreach (var part in parts.Skip(1)) EmbeddingBuffer.AppendMessage(files!, part);
        files?.Complete();
        return files is null
            ? new EmbeddingSummary("", "", held!.Rows, embedder.Dimension, reports, interrupted)
            : new EmbeddingSummary(files.NpyPath, files.CsvPath, files.Rows, embedder.Dimension, reports, interrupted);
    }
}
