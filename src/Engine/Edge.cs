using System.Threading.Channels;

namespace VideoSsl.Engine;

/// <summary>
/// A bounded channel from one stage to the next, made by the graph that joins them, with the two things that belong
/// to the connection rather than to either stage: what a full channel does (holds the producer back, or drops its
/// oldest item for a live source), and how the consumer wakes. A consumer that reads files can sleep until a burst of
/// <see cref="WakeBurst"/> items is queued instead of waking for every one: each wake-up of a waiting thread costs more
/// than handing over the item itself.
/// </summary>
public sealed class Edge<T>
{
    private readonly Channel<T> _channel;
    private readonly BurstSignal _burst = new();
    private volatile bool _finished;

    /// <param name="wakeBurst">Items a waiting consumer wants queued before it is woken (1: every item).</param>
    public Edge(string name, int capacity, int wakeBurst = 1)
    {
        Name = name;
        Capacity = capacity;
        WakeBurst = Math.Max(1, wakeBurst);
        _channel = ChannelExtensions.CreateBackPressured<T>(capacity);
    }

    public string Name { get; }
    public int Capacity { get; }
    public int WakeBurst { get; }

    public ChannelReader<T> Reader => _channel.Reader;

    /// <summary>Items queued now.</summary>
    public int Count => _channel.Reader.Count;

    /// <summary>Producer: waits for room and writes; false when the consumer side closed the channel.</summary>
    public bool Write(T item, CancellationToken cancel)
    {
        bool written = _channel.Writer.WriteBlocking(item, cancel);
        _burst.Notify(_channel.Reader.Count, finished: false);
        return written;
    }

    /// <summary>Producer: completes when there is room for another item (or the edge was closed).</summary>
    public Task WaitForRoomAsync(CancellationToken cancel) => _channel.Writer.WaitToWriteAsync(cancel).AsTask();

    /// <summary>Producer: no more items (the consumer's reads then end, or rethrow <paramref name="fault"/>).</summary>
    public void Complete(Exception? fault = null)
    {
        _finished = true;
        _channel.Writer.TryComplete(fault);
        _burst.Notify(0, finished: true);
    }

    /// <summary>Consumer: the next item, waiting for one; false once the producer has completed the edge (its fault rethrown).</summary>
    public bool TryReadBlocking(out T item, CancellationToken cancel) => _channel.Reader.TryReadBlocking(out item, cancel);

    /// <summary>Consumer: sleeps until <see cref="WakeBurst"/> items are queued or the producer has finished.</summary>
    public void WaitForBurst(CancellationToken cancel)
    {
        if (WakeBurst > 1) _burst.Wait(WakeBurst, () => _channel.Reader.Count, () => _finished || _channel.Reader.Completion.IsCompleted, cancel);
    }
}
