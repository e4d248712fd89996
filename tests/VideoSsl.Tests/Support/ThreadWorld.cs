using VideoSsl.Engine.Distributed;

namespace VideoSsl.Tests.Support;

/// <summary>
/// Ranks as threads of one process, joined by a barrier: the same collectives as <see cref="MpiWorld"/> (sums in rank
/// order, so every rank gets the same bits), for tests that look inside the ranks while they step together.
/// </summary>
public sealed class ThreadWorld : World
{
    private sealed class Shared(int size)
    {
        public readonly Barrier Barrier = new(size);
        public readonly object?[] Slots = new object?[size];
    }

    private readonly Shared _shared;

    private ThreadWorld(Shared shared, int rank)
    {
        _shared = shared;
        Rank = rank;
    }

    public static ThreadWorld[] Create(int size)
    {
        var shared = new Shared(size);
        return Enumerable.Range(0, size).Select(rank => new ThreadWorld(shared, rank)).ToArray();
    }

    public override int Rank { get; }
    public override int Size => _shared.Slots.Length;

    /// <summary>Every rank puts its part in, all read every part, then all wait until each has read.</summary>
    private T[] Exchange<T>(T mine)
    {
        _shared.Slots[Rank] = mine;
        _shared.Barrier.SignalAndWait();
        var all = _shared.Slots.Select(s => (T)s!).ToArray();
        _shared.Barrier.SignalAndWait();
        return all;
    }

    public override void SumInPlace(Span<float> values)
    {
        var parts = Exchange(values.ToArray());
        for (int i = 0; i < values.Length; i++)
        {
            float sum = 0;
            foreach (var part in parts) sum += part[i];
            values[i] = sum;
        }
    }

    public override long Max(long value) => Exchange(value).Max();
    public override long Sum(long value) => Exchange(value).Sum();
    public override byte[] Broadcast(byte[]? data) => (byte[])Exchange(data!)[0].Clone();
    public override IReadOnlyList<byte[]> GatherToRoot(byte[] data) { var all = Exchange(data); return IsRoot ? all : []; }
    public override void Barrier() => _shared.Barrier.SignalAndWait();
    public override void Abort(int exitCode) => throw new InvalidOperationException($"rank {Rank} aborted ({exitCode})");
}
