using System.CommandLine;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using VideoSsl.Engine;
using VideoSsl.Engine.Distributed;

namespace VideoSsl.CommandLine;

/// <summary>What every command shares: the error console, logging, Ctrl+C handling, and the MPI world it runs in.</summary>
public sealed class Cli : IDisposable
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

    private World? _world;

    /// <summary>The processes this command runs across: MPI's ranks when a launcher started it, else this process alone (started on first use).</summary>
    public World World => _world ??= World.FromEnvironment();

    public void Dispose() => _world?.Dispose();

    public ILoggerFactory Logging(ParseResult parse) => LoggerFactory.Create(builder => builder
        .ClearProviders()
        .SetMinimumLevel(parse.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Information)
        .AddProvider(new ConsoleLoggerProvider(Console, parse.GetValue(Verbose) ? LogLevel.Debug : LogLevel.Information)));

    /// <summary>Runs a command's work, turning a <see cref="UserError"/> into one line on stderr and exit code 1.</summary>
    /// <remarks>
    /// In an MPI job a rank that fails ends the whole job (MPI_Abort) with its exit code: the other ranks would
    /// otherwise wait for it in the next collective forever.
    /// </remarks>
    /// <param name="acrossRanks">
    /// The command runs across MPI ranks. Any other one started by mpirun would run whole in every rank and write the
    /// same outputs at once, so it is refused.
    /// </param>
    public int Guard(ParseResult parse, string command, Func<int> work, bool acrossRanks = false)
    {
        int code;
        try
        {
            if (!acrossRanks && Platform.MpiLaunchedSize is > 1 and var size)
                throw UserError.CommandLine($"{command} does not run across MPI ranks (this process is one of {size}): start it without mpirun (train and embed run across ranks)");
            return work();
        }
        catch (UserError e)
        {
            WriteError($"{command}: {RankPrefix()}{e.Message}", parse.GetValue(Verbose) ? e : null);
            code = e.ExitCode;
        }
        catch (OperationCanceledException) when (Termination.Token.IsCancellationRequested)
        {
            WriteError($"{command}: {RankPrefix()}interrupted", null);
            code = 130;
        }
        catch (Exception e)
        {
            bool verbose = parse.GetValue(Verbose);
            WriteError($"{command}: {RankPrefix()}unexpected {e.GetType().Name}: {e.Message.Split('\n')[0]}" + (verbose ? "" : " (run with --verbose for details)"), verbose ? e : null);
            code = 1;
        }
        if (_world is { IsDistributed: true } world) world.Abort(code);
        return code;
    }

    private string RankPrefix() => _world is { IsDistributed: true } world ? $"rank {world.Rank} of {world.Size}: " : "";

    /// <summary>One error line (control characters in names escaped), and with --verbose the exception after it.</summary>
    public static void WriteError(string line, Exception? detail)
    {
        System.Console.Error.WriteLine("error: " + Printable.Text(line));
        if (detail is not null) System.Console.Error.WriteLine(detail);
    }

    /// <summary>
    /// Numbers read with the invariant culture, and a bad one named in the user's terms ("--fps expects a number,
    /// not 'inf'") instead of System.CommandLine's type names.
    /// </summary>
    /// <summary>embed's and eval's --pooled-stages: another choice of stages than the checkpoint's, from the same weights.</summary>
    public static Option<string?> PooledStagesOption() =>
        new("--pooled-stages") { Description = "Backbone stages whose pooled features make the embedding, e.g. 3,4 (default: the checkpoint's)" };

    public static int[]? PooledStages(ParseResult parse, Option<string?> option) =>
        parse.GetValue(option) is { } text ? IntList(option.Name, text) : null;

    /// <summary>"3,4" as numbers, or a command-line error naming the option.</summary>
    public static int[] IntList(string option, string text)
    {
        var parts = text.Split(',', StringSplitOptions.TrimEntries);
        var values = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
            if (!int.TryParse(parts[i], System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out values[i]))
                throw UserError.CommandLine($"{option} expects numbers separated by commas, e.g. 3,4 (got '{Printable.Text(text)}')");
        return values;
    }

    public static Option<T?> Numeric<T>(Option<T?> option) where T : struct, IParsable<T>
    {
        option.CustomParser = result => ParseNumber<T>(option.Name, result);
        return option;
    }

    public static Option<T> Numeric<T>(Option<T> option) where T : struct, IParsable<T>
    {
        option.CustomParser = result => ParseNumber<T>(option.Name, result) ?? default;
        return option;
    }

    private static T? ParseNumber<T>(string name, System.CommandLine.Parsing.ArgumentResult result) where T : struct, IParsable<T>
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (T.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var value)) return value;
        result.AddError($"{name} expects {(typeof(T) == typeof(double) ? "a number" : "a whole number")}, not '{text}'");
        return null;
    }

    /// <summary>An option whose value is one of <see cref="Engine.Choice{T}"/>'s words; another word is refused naming them all.</summary>
    public static Option<T?> Choice<T>(Option<T?> option) where T : struct, Enum
    {
        option.CustomParser = result => ParseChoice<T>(option.Name, result);
        option.HelpName = string.Join('|', Engine.Choice<T>.Names);
        return option;
    }

    public static Option<T> Choice<T>(Option<T> option) where T : struct, Enum
    {
        option.CustomParser = result => ParseChoice<T>(option.Name, result) ?? default;
        option.HelpName = string.Join('|', Engine.Choice<T>.Names);
        return option;
    }

    private static T? ParseChoice<T>(string name, System.CommandLine.Parsing.ArgumentResult result) where T : struct, Enum
    {
        string text = result.Tokens.Count > 0 ? result.Tokens[^1].Value : "";
        if (Engine.Choice<T>.TryParse(text, out var value)) return value;
        result.AddError($"{name} {Engine.Choice<T>.Refusal(text)}");
        return null;
    }

    public static void WriteWarning(string line) => System.Console.Error.WriteLine("warning: " + Printable.Text(line));

    /// <summary>A line of a command's results on stdout, control characters in names escaped.</summary>
    public static void Print(string line) => System.Console.WriteLine(Printable.Text(line));
}
