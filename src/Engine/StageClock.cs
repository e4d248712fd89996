using System.Diagnostics;

namespace VideoSsl.Engine;

/// <summary>
/// A stage's own clock: time since the stage started, and optional pacing to a target rate. A paced loop sleeps
/// away the rest of its period instead of spinning, and never tries to catch up on missed periods, so a slow
/// frame does not cause a burst of fast ones.
/// </summary>
public sealed class StageClock
{
    private readonly Stopwatch _watch = new();
    private double _nextTickSeconds;

    public void Start()
    {
        _watch.Restart();
        _nextTickSeconds = 0;
    }

    public double ElapsedSeconds => _watch.Elapsed.TotalSeconds;

    /// <summary>Waits until the next period of a loop running at <paramref name="hertz"/>; returns false if cancelled.</summary>
    public bool WaitForNextTick(double hertz, CancellationToken cancel)
    {
        double period = 1.0 / hertz;
        double now = ElapsedSeconds;
        _nextTickSeconds = Math.Max(_nextTickSeconds + period, now);
        double wait = _nextTickSeconds - now;
        if (wait > 0)
            return !cancel.WaitHandle.WaitOne(TimeSpan.FromSeconds(wait));
        return !cancel.IsCancellationRequested;
    }
}
