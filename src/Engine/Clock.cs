using System.Diagnostics;

namespace VideoSsl.Engine;

/// <summary>
/// Time as the engine sees it. A stage's clock, the monitor's pacing, a live source's reconnect back-off and the
/// overlay feed's display rate ask this rather than <see cref="Stopwatch"/>, so a test can step time (a manual clock)
/// instead of sleeping and hoping.
/// </summary>
public interface IClock
{
    /// <summary>Seconds since an arbitrary fixed moment; never goes back.</summary>
    double Now { get; }

    /// <summary>Waits until <see cref="Now"/> reaches <paramref name="until"/>; false if cancelled first.</summary>
    bool WaitUntil(double until, CancellationToken cancel);
}

/// <summary>The machine's monotonic clock.</summary>
public sealed class SystemClock : IClock
{
    public static readonly SystemClock Instance = new();

    private SystemClock() { }

    public double Now => Stopwatch.GetTimestamp() / (double)Stopwatch.Frequency;

    public bool WaitUntil(double until, CancellationToken cancel)
    {
        double wait = until - Now;
        if (wait <= 0) return !cancel.IsCancellationRequested;
        return !cancel.WaitHandle.WaitOne(TimeSpan.FromSeconds(wait));
    }
}
