namespace VideoSsl.Engine;

/// <summary>
/// A problem the user can fix (bad input, bad option, missing tool). The command line prints its message as one
/// line on stderr and exits non-zero, without a stack trace. Messages name the input and the cause.
/// </summary>
public sealed class UserError : Exception
{
    /// <summary>Exit code for bad input (a file, a stream, a configuration file).</summary>
    public const int BadInput = 1;

    /// <summary>Exit code for a bad command line (an unknown option, a value out of range).</summary>
    public const int BadCommandLine = 2;

    public UserError(string message, Exception? inner = null) : this(message, BadInput, inner) { }

    private UserError(string message, int exitCode, Exception? inner) : base(message, inner) => ExitCode = exitCode;

    public int ExitCode { get; }

    /// <summary>A problem with what was typed on the command line itself.</summary>
    public static UserError CommandLine(string message) => new(message, BadCommandLine, null);
}
