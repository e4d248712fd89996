namespace VideoSsl.Engine;

/// <summary>Lets a loop that ticks fast (the overlay's frame rate) do its slower work (progress, limits) only at its own rate.</summary>
public sealed class MonitorPacing(double hertz, IClock? clock = null)
{
    private readonly IClock _clock = clock ?? SystemClock.Instance;
    private readonly double _period = 1 / hertz;
    private double _next = double.NegativeInfinity;

    public bool Due()
    {
        double now = _clock.Now;
        if (now < _next) return false;
        _next = now + _period;
        return true;
    }
}
