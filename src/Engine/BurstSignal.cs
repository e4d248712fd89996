namespace VideoSsl.Engine;

/// <summary>
/// Lets a consumer sleep until a queue holds a small burst of items (or its producer has finished) instead of
/// waking for every single item: on a busy machine each wake-up of a waiting thread costs more CPU than handing
/// over the item itself. For back-pressured file decoding only; live consumers take each frame at once.
/// </summary>
public sealed class BurstSignal
{
    // No spinning before it sleeps: a spinning wait burned more CPU than the wake-up it hoped to save.
    private readonly ManualResetEventSlim _ready = new(false, spinCount: 0);
    private int _wanted;   // items a waiting consumer wants queued before it is woken; 0 when nobody waits

    /// <summary>Consumer side: returns once <paramref name="available"/>() reaches <paramref name="count"/> or <paramref name="finished"/>() is true.</summary>
    public void Wait(int count, Func<int> available, Func<bool> finished, CancellationToken cancel)
    {
        Volatile.Write(ref _wanted, count);
        if (available() >= count || finished())
        {
            Volatile.Write(ref _wanted, 0);
            return;
        }
        _ready.Wait(cancel);
        // A late Notify from an earlier round may have set it: callers recheck the queue, so that is only a spurious wake.
        _ready.Reset();
    }

    /// <summary>Producer side, after each item and once when finished.</summary>
    public void Notify(int available, bool finished)
    {
        int wanted = Volatile.Read(ref _wanted);
        if (wanted > 0 && (finished || available >= wanted) && Interlocked.CompareExchange(ref _wanted, 0, wanted) == wanted)
            _ready.Set();
    }
}
