namespace VideoSsl.Engine;

/// <summary>
/// A problem the user can fix (bad input, bad option, missing tool). The command line prints its message as one
/// line on stderr and exits non-zero, without a stack trace. Messages name the input and the cause.
/// </summary>
public sealed class UserError : Exception
{
    public UserError(string message, Exception? inner = null) : base(message, inner) { }
}
