using System.Diagnostics;

namespace VideoSsl.Engine;

/// <summary>
/// What a stage has done so far. Written by the stage's own thread, read at any time by the monitor, so every
/// field is read and written atomically; a snapshot is consistent per field, which is all a live display needs.
/// </summary>
public sealed class StageCounters
{
    private long _itemsIn;
    private long _itemsOut;
    private long _dropped;
    private long _busyTicks;
    private Func<int>? _queueDepth;

    public void CountIn(long n = 1) => Interlocked.Add(ref _itemsIn, n);
    public void CountOut(long n = 1) => Interlocked.Add(ref _itemsOut, n);
    public void CountDropped(long n = 1) => Interlocked.Add(ref _dropped, n);

    /// <summary>The input queue this stage reads from, sampled when a snapshot is taken.</summary>
    public void ObserveQueue(Func<int> depth) => _queueDepth = depth;

    /// <summary>Marks the enclosed work as busy time (time not spent waiting for input or for room downstream).</summary>
    public BusyScope Busy() => new(this);

    public StageSnapshot Snapshot(string stage, double elapsedSeconds) => new(
        stage,
        Interlocked.Read(ref _itemsIn),
        Interlocked.Read(ref _itemsOut),
        Interlocked.Read(ref _dropped),
        _queueDepth?.Invoke() ?? 0,
        TimeSpan.FromTicks(Interlocked.Read(ref _busyTicks) * TimeSpan.TicksPerSecond / Stopwatch.Frequency).TotalSeconds,
        elapsedSeconds);

    public readonly struct BusyScope : IDisposable
    {
        private readonly StageCounters _owner;
        private readonly long _start;

        internal BusyScope(StageCounters owner)
        {
            _owner = owner;
            _start = Stopwatch.GetTimestamp();
        }

        public void Dispose() => Interlocked.Add(ref _owner._busyTicks, Stopwatch.GetTimestamp() - _start);
    }
}

/// <summary>One stage's counters at one moment.</summary>
public sealed record StageSnapshot(
    string Stage, long ItemsIn, long ItemsOut, long Dropped, int QueueDepth, double BusySeconds, double ElapsedSeconds)
{
    /// <summary>Share of the stage's life spent working rather than waiting.</summary>
    public double BusyFraction => ElapsedSeconds > 0 ? Math.Min(1, BusySeconds / ElapsedSeconds) : 0;
}
