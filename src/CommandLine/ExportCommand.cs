using System.CommandLine;
using VideoSsl.Learning;

namespace VideoSsl.CommandLine;

/// <summary><c>videossl export</c>: the trained encoder as weights PyTorch loads.</summary>
public static class ExportCommand
{
    public static Command Create(Cli cli)
    {
        var command = new Command("export", "Write the trained encoder's weights for PyTorch: FILE.safetensors or FILE.pt, plus FILE.json describing how to rebuild the module.");
        var checkpoint = new Option<string>("--checkpoint", "-c") { Description = "Run folder (its newest checkpoint) or a checkpoint file", Required = true };
        var output = new Option<string>("--out", "-o") { Description = "encoder.safetensors or encoder.pt", Required = true };
        command.Options.Add(checkpoint);
        command.Options.Add(output);
        command.SetAction(parse => cli.Guard(parse, "export", () =>
        {
            var (source, path) = CheckpointStore.Open(parse.GetValue(checkpoint)!, Cli.WriteWarning);
            var (weights, description) = ModelExport.Export(source, parse.GetValue(output)!);
            Cli.Print($"Exported step {source.Info.Step} of {path}.");
            Cli.Print($"weights:     {weights}");
            Cli.Print($"description: {description}");
            return 0;
        }));
        return command;
    }
}
