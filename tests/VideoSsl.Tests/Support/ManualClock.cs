using VideoSsl.Engine;

namespace VideoSsl.Tests.Support;

/// <summary>A clock that moves only when a test says so; whoever waits on it wakes when its time comes, or is cancelled.</summary>
public sealed class ManualClock : IClock
{
    private readonly object _gate = new();   // Monitor.Wait and PulseAll need a monitor, not a System.Threading.Lock
    private double _now = 100;   // any fixed moment: nothing may assume time starts at 0
    private int _waiting;
    private int _waitsStarted;

    public double Now
    {
        get { lock (_gate) return _now; }
    }

    /// <summary>Threads waiting on the clock right now (a test can wait for a stage to reach its wait before it steps time).</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    public void Advance(double seconds)
    {
        lock (_gate)
        {
            _now += seconds;
            Monitor.PulseAll(_gate);
        }
    }

    public bool WaitUntil(double until, CancellationToken cancel)
    {
        using var wake = cancel.Register(() => { lock (_gate) Monitor.PulseAll(_gate); });
        lock (_gate)
        {
            Interlocked.Increment(ref _waiting);
            Interlocked.Increment(ref _waitsStarted);
            try
            {
                while (_now < until && !cancel.IsCancellationRequested) Monitor.Wait(_gate);
            }
            finally
            {
                Interlocked.Decrement(ref _waiting);
            }
        }
        return !cancel.IsCancellationRequested;
    }

    /// <summary>
    /// Waits (in real time, briefly) until the clock has been waited on <paramref name="count"/> times in all and
    /// somebody is waiting on it now: a loop that waits once per tick has then taken its tick and come back.
    /// </summary>
    public void AwaitWait(int count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Volatile.Read(ref _waitsStarted) < count || Waiting < 1)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"the clock was waited on {_waitsStarted} times, not {count}");
            Thread.Sleep(1);
        }
    }
}
