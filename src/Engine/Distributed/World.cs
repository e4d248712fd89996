namespace VideoSsl.Engine.Distributed;

/// <summary>
/// The processes one run is spread over: a single process, or the ranks an MPI launcher (mpirun, mpiexec, srun)
/// started. Every collective must be called by every rank in the same order (MPI's rule); a rank that fails calls
/// <see cref="Abort"/>, which ends every rank, so that no collective waits forever for it.
/// </summary>
public abstract class World : IDisposable
{
    public abstract int Rank { get; }
    public abstract int Size { get; }

    /// <summary>Rank 0: the one process that takes the run-folder lock and writes the outputs.</summary>
    public bool IsRoot => Rank == 0;

    public bool IsDistributed => Size > 1;

    /// <summary>The world this process was started in: MPI's when a launcher started it with more than one process, else a single process (libmpi is not loaded).</summary>
    public static World FromEnvironment() => Platform.MpiLaunchedSize is > 1 ? MpiWorld.Start() : new SingleProcess();

    /// <summary>Every rank's <paramref name="values"/> summed, in place, on every rank.</summary>
    public abstract void SumInPlace(Span<float> values);

    /// <summary>The largest of every rank's <paramref name="value"/>, on every rank.</summary>
    public abstract long Max(long value);

    /// <summary>The sum of every rank's <paramref name="value"/>, on every rank.</summary>
    public abstract long Sum(long value);

    /// <summary>Rank 0's <paramref name="data"/> on every rank (others pass null and receive it).</summary>
    public abstract byte[] Broadcast(byte[]? data);

    /// <summary>Rank 0 receives <paramref name="data"/> of every rank, in rank order (others get an empty list).</summary>
    public abstract IReadOnlyList<byte[]> GatherToRoot(byte[] data);

    public abstract void Barrier();

    /// <summary>Ends every rank of the job with <paramref name="exitCode"/>; does not return.</summary>
    public abstract void Abort(int exitCode);

    public virtual void Dispose() { }
}

/// <summary>One process alone: every collective is the identity.</summary>
public sealed class SingleProcess : World
{
    public override int Rank => 0;
    public override int Size => 1;
    public override void SumInPlace(Span<float> values) { }
    public override long Max(long value) => value;
    public override long Sum(long value) => value;
    public override byte[] Broadcast(byte[]? data) => data ?? throw new ArgumentNullException(nameof(data), "rank 0 must give what it broadcasts");
    public override IReadOnlyList<byte[]> GatherToRoot(byte[] data) => [data];
    public override void Barrier() { }
    public override void Abort(int exitCode) => Environment.Exit(exitCode);
}
