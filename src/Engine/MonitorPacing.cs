using System.Diagnostics;

namespace VideoSsl.Engine;

/// <summary>Lets a loop that ticks fast (the overlay's frame rate) do its slower work (progress, limits) only at its own rate.</summary>
public sealed class MonitorPacing(double hertz)
{
    private readonly long _period = (long)(Stopwatch.Frequency / hertz);
    private long _next;

    public bool Due()
    {
        long now = Stopwatch.GetTimestamp();
        if (now < _next) return false;
        _next = now + _period;
        return true;
    }
}
