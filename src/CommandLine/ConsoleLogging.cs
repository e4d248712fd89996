using Microsoft.Extensions.Logging;
using Spectre.Console;
using VideoSsl.Engine;

namespace VideoSsl.CommandLine;

/// <summary>
/// Log lines on stderr, one per message: time, level, message. They go through the same console as the progress
/// display, which keeps its bars below them instead of being torn apart.
/// </summary>
public sealed class ConsoleLoggerProvider : ILoggerProvider
{
    private readonly IAnsiConsole _console;
    private readonly LogLevel _minimum;
    private readonly Lock _gate = new();

    public ConsoleLoggerProvider(IAnsiConsole console, LogLevel minimum)
    {
        _console = console;
        _minimum = minimum;
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this);

    public void Dispose() { }

    private sealed class Logger(ConsoleLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner._minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var (label, style) = logLevel switch
            {
                LogLevel.Trace => ("trace", "grey"),
                LogLevel.Debug => ("debug", "grey"),
                LogLevel.Information => ("info ", "blue"),
                LogLevel.Warning => ("warn ", "yellow"),
                LogLevel.Error => ("error", "red"),
                _ => ("fatal", "red bold"),
            };
            string line = $"[grey]{DateTime.Now:HH:mm:ss}[/] [{style}]{label}[/] {Markup.Escape(Printable.Text(formatter(state, exception)))}";
            lock (owner._gate) owner._console.MarkupLine(line);
        }
    }
}
