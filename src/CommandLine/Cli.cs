using System.CommandLine;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using VideoSsl.Engine;

namespace VideoSsl.CommandLine;

/// <summary>What every command shares: the error console, logging, and Ctrl+C handling.</summary>
public sealed class Cli
{
    public static readonly Option<bool> Verbose = new("--verbose", "-v")
    {
        Description = "Debug logging, and stack traces with errors",
        Recursive = true,
    };

    public Cli(IAnsiConsole errorConsole, Termination termination)
    {
        Console = errorConsole;
        Termination = termination;
    }

    /// <summary>Progress and logs go to stderr, so stdout carries only results.</summary>
    public IAnsiConsole Console { get; }

    public Termination Termination { get; }

    public ILoggerFactory Logging(ParseResult parse) => LoggerFactory.Create(builder => builder
        .ClearProviders()
        .SetMinimumLevel(parse.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Information)
        .AddProvider(new ConsoleLoggerProvider(Console, parse.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Information)));

    /// <summary>Runs a command's work, turning a <see cref="UserError"/> into one line on stderr and exit code 1.</summary>
    public int Guard(ParseResult parse, string command, Func<int> work)
    {
        try
        {
            return work();
        }
        catch (UserError e)
        {
            WriteError($"{command}: {e.Message}", parse.GetValue(Verbose) ? e : null);
            return 1;
        }
        catch (OperationCanceledException) when (Termination.Token.IsCancellationRequested)
        {
            WriteError($"{command}: interrupted", null);
            return 130;
        }
        catch (Exception e)
        {
            bool verbose = parse.GetValue(Verbose);
            WriteError($"{command}: unexpected {e.GetType().Name}: {e.Message.Split('\n')[0]}" + (verbose ? "" : " (run with --verbose for details)"), verbose ? e : null);
            return 1;
        }
    }

    public static void WriteError(string line, Exception? detail)
    {
        System.Console.Error.WriteLine("error: " + line);
        if (detail is not null) System.Console.Error.WriteLine(detail);
    }
}
