namespace VideoSsl.Engine;

/// <summary>
/// A stage's own clock: time since the stage started, and optional pacing to a target rate. A paced loop sleeps
/// away the rest of its period instead of spinning, and never tries to catch up on missed periods, so a slow
/// frame does not cause a burst of fast ones.
/// </summary>
public sealed class StageClock(IClock? source = null)
{
    private double _started;
    private double _nextTickSeconds;

    /// <summary>The time this clock reads (the machine's, or a test's).</summary>
    public IClock Source { get; } = source ?? SystemClock.Instance;

    public void Start()
    {
        _started = Source.Now;
        _nextTickSeconds = 0;
    }

    public double ElapsedSeconds => Source.Now - _started;

    /// <summary>Waits until the next period of a loop running at <paramref name="hertz"/>; returns false if cancelled.</summary>
    public bool WaitForNextTick(double hertz, CancellationToken cancel)
    {
        double period = 1.0 / hertz;
        double now = ElapsedSeconds;
        _nextTickSeconds = Math.Max(_nextTickSeconds + period, now);
        bool go = _nextTickSeconds > now ? Source.WaitUntil(_started + _nextTickSeconds, cancel) : !cancel.IsCancellationRequested;
        // A wait that ended more than a period late (a stalled machine) made this tick late: the next one comes a period
        // after it, not at once. Ordinary wake-up jitter keeps the schedule, so the average rate holds.
        if (ElapsedSeconds - _nextTickSeconds > period) _nextTickSeconds = ElapsedSeconds;
        return go;
    }
}
