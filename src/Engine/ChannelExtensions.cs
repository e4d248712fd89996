using System.Threading.Channels;

namespace VideoSsl.Engine;

/// <summary>
/// Blocking channel access for stages, which run on dedicated threads and may wait without tying up the thread pool.
/// </summary>
public static class ChannelExtensions
{
    /// <summary>Waits for the next item; false when the channel is complete. Cancellation throws.</summary>
    public static bool TryReadBlocking<T>(this ChannelReader<T> reader, out T item, CancellationToken cancel)
    {
        while (true)
        {
            if (reader.TryRead(out item!)) return true;
            var wait = reader.WaitToReadAsync(cancel);
            bool more = wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
            if (!more)
            {
                if (reader.Completion.IsFaulted) reader.Completion.GetAwaiter().GetResult();   // rethrows the writer's fault
                item = default!;
                return false;
            }
        }
    }

    /// <summary>Waits for room and writes; false if the channel was completed by its reader side.</summary>
    public static bool WriteBlocking<T>(this ChannelWriter<T> writer, T item, CancellationToken cancel)
    {
        while (true)
        {
            if (writer.TryWrite(item)) return true;
            var wait = writer.WaitToWriteAsync(cancel);
            bool open = wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
            if (!open) return false;
        }
    }

    /// <summary>A bounded channel whose writers wait when it is full: nothing is ever dropped.</summary>
    public static Channel<T> CreateBackPressured<T>(int capacity, bool singleReader = true, bool singleWriter = true) =>
        Channel.CreateBounded<T>(new BoundedChannelOptions(capacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
            SingleReader = singleReader,
            SingleWriter = singleWriter,
        });
}
