using VideoSsl.Engine;

namespace VideoSsl.Decode;

/// <summary>
/// When a live source that dropped out is opened again: 1 s after the drop, then 2, 4, 8 ... seconds after each
/// further failure, never more than <paramref name="maxSeconds"/>; once frames flow again the next drop starts at 1 s.
/// A stream that is down for a while is retried often at first and then patiently, without hammering its server.
/// </summary>
public sealed class ReconnectPolicy(double maxSeconds, IClock clock)
{
    private double _retryAt = double.NegativeInfinity;

    /// <summary>Failures since frames last arrived.</summary>
    public int FailuresInARow { get; private set; }

    /// <summary>Records a drop and returns how many seconds to wait before the next attempt.</summary>
    public double Dropped()
    {
        FailuresInARow++;
        double wait = Math.Min(maxSeconds, Math.Pow(2, FailuresInARow - 1));
        _retryAt = clock.Now + wait;
        return wait;
    }

    /// <summary>Frames arrived: the source is back.</summary>
    public void Recovered() => FailuresInARow = 0;

    /// <summary>Whether the next attempt may be made now.</summary>
    public bool Due => clock.Now >= _retryAt;

    /// <summary>Time left before the next attempt (zero when due).</summary>
    public TimeSpan UntilDue => TimeSpan.FromSeconds(Math.Max(0, _retryAt - clock.Now));
}
