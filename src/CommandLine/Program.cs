using System.CommandLine;
using Spectre.Console;
using VideoSsl.CommandLine;

using var termination = new Termination();
var errorConsole = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
if (Console.IsErrorRedirected) errorConsole.Profile.Width = 100_000;   // a log file wants whole lines, not 80-column wrapping
var cli = new Cli(errorConsole, termination);

var root = new RootCommand("VideoSsl learns visual features from unlabelled video by temporal contrast: frames close in time embed close together, frames far apart (or from other videos) far apart.");
root.Options.Add(Cli.Verbose);
root.Subcommands.Add(TrainCommand.Create(cli));
root.Subcommands.Add(DemoCommand.Create(cli));
root.Subcommands.Add(EmbedCommand.Create(cli));
root.Subcommands.Add(MergeCommand.Create(cli));
root.Subcommands.Add(ProbeCommand.Create(cli));
root.Subcommands.Add(DevicesCommand.Create(cli));
root.Subcommands.Add(EvalCommand.Create(cli));
root.Subcommands.Add(ExportCommand.Create(cli));
root.Subcommands.Add(BenchCommand.Create(cli));

var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    string command = string.Join(" ", parse.CommandResult.Command == root ? ["videossl"] : new[] { "videossl", parse.CommandResult.Command.Name });
    Cli.WriteError($"{parse.Errors[0].Message} (see '{command} --help')", null);
    return 2;
}
int exitCode = parse.Invoke(new InvocationConfiguration { ProcessTerminationTimeout = null });
cli.Dispose();   // MPI_Finalize, when an MPI launcher started this process
return exitCode;
