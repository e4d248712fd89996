namespace VideoSsl.Engine;

/// <summary>
/// A latest-value-wins slot between threads: the writer replaces whatever is there and never waits; a reader takes
/// the newest value once (a version number tells it whether it has seen it) and never blocks the writer either.
/// Values are immutable records or buffers the writer will not touch again.
/// </summary>
public sealed class LatestValue<T> where T : class
{
    private T? _value;
    private long _version;

    public void Publish(T value)
    {
        Volatile.Write(ref _value, value);
        Interlocked.Increment(ref _version);
    }

    /// <summary>The newest value, whether or not it was taken before.</summary>
    public T? Peek() => Volatile.Read(ref _value);

    public long Version => Interlocked.Read(ref _version);

    /// <summary>The newest value if it is newer than the one seen at <paramref name="seen"/>; updates it.</summary>
    public bool TryTakeNewer(ref long seen, out T value)
    {
        long version = Version;
        var current = Volatile.Read(ref _value);
        if (version == seen || current is null)
        {
            value = null!;
            return false;
        }
        seen = version;
        value = current;
        return true;
    }
}
