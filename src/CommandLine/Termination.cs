using System.Runtime.InteropServices;

namespace VideoSsl.CommandLine;

/// <summary>
/// Turns Ctrl+C and SIGTERM into a cancellation the run handles gracefully (finish the step, write a checkpoint,
/// stop FFmpeg). A second Ctrl+C ends the process at once.
/// </summary>
public sealed class Termination : IDisposable
{
    private readonly CancellationTokenSource _requested = new();
    private readonly List<PosixSignalRegistration> _registrations = [];

    public Termination()
    {
        Console.CancelKeyPress += OnCancelKeyPress;
        foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGQUIT })
        {
            try
            {
                _registrations.Add(PosixSignalRegistration.Create(signal, context =>
                {
                    context.Cancel = true;
                    _requested.Cancel();
                }));
            }
            catch (PlatformNotSupportedException)
            {
                // Windows has no SIGQUIT; Ctrl+C still works there.
            }
        }
    }

    public CancellationToken Token => _requested.Token;

    private void OnCancelKeyPress(object? sender, ConsoleCancelEventArgs e)
    {
        if (_requested.IsCancellationRequested) return;   // second Ctrl+C: let the process end
        e.Cancel = true;
        _requested.Cancel();
    }

    public void Dispose()
    {
        Console.CancelKeyPress -= OnCancelKeyPress;
        foreach (var registration in _registrations) registration.Dispose();
    }
}
