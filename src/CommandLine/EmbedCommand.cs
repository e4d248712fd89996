using System.CommandLine;
using Microsoft.Extensions.Logging;
using VideoSsl.Engine;
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
        foreach (var option in new Option[] { checkpoint, sources, output, fps, device, batch, pooled }) command.Options.Add(option);

        command.SetAction(parse => cli.Guard(parse, "embed", () =>
        {
            using var logging = cli.Logging(parse);
            var log = logging.CreateLogger("videossl");
            var request = new EmbedRequest(parse.GetValue(checkpoint)!, parse.GetValue(sources)!, parse.GetValue(output)!,
                parse.GetValue(fps), parse.GetValue(device)!, parse.GetValue(batch), Cli.PooledStages(parse, pooled));
            var graph = new EmbeddingGraph(logging);
            var summary = ProgressDisplay.Run(cli.Console, log, "embed", observer => graph.Run(request, observer, cli.Termination.Token));
            Cli.Print($"Embedded {summary.Rows} frames as {summary.Dimension}-d features{(summary.Interrupted ? " (interrupted: incomplete)" : "")}.");
            Cli.Print($"embeddings: {summary.Npy}");
            Cli.Print($"index:      {summary.Csv}");
            if (summary.Rows == 0) throw new UserError("no frame was decoded from the sources");
            return summary.Interrupted ? 130 : 0;
        }));
        return command;
    }
}
