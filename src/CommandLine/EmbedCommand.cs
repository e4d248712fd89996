using System.CommandLine;
using Microsoft.Extensions.Logging;
using VideoSsl.Engine;
using VideoSsl.Engine.Distributed;
using VideoSsl.Graph;
using VideoSsl.Learning;

namespace VideoSsl.CommandLine;

/// <summary><c>videossl embed</c>: one L2-normalised encoder feature per frame, as .npy plus a .csv index.</summary>
public static class EmbedCommand
{
    public static Command Create(Cli cli)
    {
        var command = new Command("embed", "Write the trained encoder's embedding of every frame (every block's pooled features, unit length) to FILE.npy (float32 [frames, D]) and FILE.csv (source,frame_index,pts_seconds).");
        var checkpoint = new Option<string>("--checkpoint", "-c") { Description = "Run folder (its newest checkpoint) or a checkpoint file", Required = true };
        var sources = new Option<string[]>("--source", "-s") { Description = "Video file or folder; repeat for several", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out", "-o") { Description = "Output FILE.npy; FILE.csv is written beside it", Required = true };
        var fps = Cli.Numeric(new Option<double?>("--fps") { Description = "Resample to F frames/s (default: each source's own rate)" });
        var device = Cli.Choice(new Option<DeviceChoice>("--device") { Description = "auto (CUDA when LibTorch sees a GPU, else the CPU), cpu or cuda (default auto)", DefaultValueFactory = _ => DeviceChoice.Auto });
        var batch = Cli.Numeric(new Option<int>("--batch") { Description = "Frames per forward pass", DefaultValueFactory = _ => 64 });
        var pooled = Cli.PooledStagesOption();
        var threads = Cli.Numeric(new Option<int>("--threads") { Description = "LibTorch threads (default 0: one per core); the same threads give the same bytes, in one process, across MPI ranks or in shards" });
        var shard = new Option<string?>("--shard") { Description = "Embed only share I of N of the files (in the folder walk's order) into FILE.shard-I-of-N.npy/.csv, for job-array workers; auto/N takes I from JOB_COMPLETION_INDEX (Kubernetes) or SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN (Slurm); join the shards with 'videossl merge'" };
        foreach (var option in new Option[] { checkpoint, sources, output, fps, device, batch, pooled, threads, shard }) command.Options.Add(option);

        command.SetAction(parse => cli.Guard(parse, "embed", () =>
        {
            using var logging = cli.Logging(parse);
            var log = logging.CreateLogger("videossl");
            var request = new EmbedRequest(parse.GetValue(checkpoint)!, parse.GetValue(sources)!, parse.GetValue(output)!,
                parse.GetValue(fps), parse.GetValue(device)!, parse.GetValue(batch), Cli.PooledStages(parse, pooled), parse.GetValue(threads),
                parse.GetValue(shard) is { } text ? WorkShare.Parse(text) : null);
            var graph = new EmbeddingGraph(logging);
            var world = cli.World;
            var summary = ProgressDisplay.Run(cli.Console, log, "embed", observer => graph.Run(request, observer, cli.Termination.Token, world));
            if (!world.IsRoot)
            {
                log.LogInformation("embed: rank {Rank} embedded {Rows} frames; rank 0 writes them", world.Rank, summary.Rows);
                return summary.Interrupted ? 130 : 0;
            }
            Cli.Print($"Embedded {summary.Rows} frames as {summary.Dimension}-d features{(summary.Interrupted ? " (interrupted: incomplete)" : "")}.");
            Cli.Print($"embeddings: {summary.Npy}");
            Cli.Print($"index:      {summary.Csv}");
            if (summary.Rows == 0) throw new UserError("no frame was decoded from the sources");
            return summary.Interrupted ? 130 : 0;
        }, acrossRanks: true));
        return command;
    }
}

/// <summary><c>videossl merge</c>: joins the shards of <c>embed --shard I/N</c> into one embedding, the bytes one process writes.</summary>
public static class MergeCommand
{
    public static Command Create(Cli cli)
    {
        var command = new Command("merge", "Join the shards embed --shard I/N wrote (FILE.shard-I-of-N.npy with their .csv, every I once) into FILE.npy and FILE.csv, in shard order: the same bytes as one embed over all the files.");
        var shards = new Option<string[]>("--shards") { Description = "The shards' .npy files (their .csv beside them)", Required = true, AllowMultipleArgumentsPerToken = true };
        var output = new Option<string>("--out", "-o") { Description = "Output FILE.npy; FILE.csv is written beside it", Required = true };
        command.Options.Add(shards);
        command.Options.Add(output);
        command.SetAction(parse => cli.Guard(parse, "merge", () =>
        {
            string npy = parse.GetValue(output)!;
            var (rows, dimension) = VideoSsl.Graph.Outputs.EmbeddingShards.Merge(parse.GetValue(shards)!, npy);
            Cli.Print($"Merged {rows} frames of {dimension}-d features from {parse.GetValue(shards)!.Length} shards.");
            Cli.Print($"embeddings: {npy}");
            Cli.Print($"index:      {Path.ChangeExtension(npy, ".csv")}");
            return 0;
        }));
        return command;
    }
}
