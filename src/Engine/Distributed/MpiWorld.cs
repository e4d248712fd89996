using System.Runtime.InteropServices;

namespace VideoSsl.Engine.Distributed;

/// <summary>
/// The ranks of an MPI job, through the few MPI calls VideoSsl needs, bound at run time from the platform's
/// library (<see cref="Platform.MpiLibrary"/>): Open MPI on Linux, MS-MPI on Windows. The MPI.NET package binds
/// MS-MPI's integer handles only, where Open MPI's are pointers; this binding takes either
/// (<see cref="Platform.MpiHandlesAreSymbols"/>). Calls may come from several threads, never at once
/// (MPI_THREAD_SERIALIZED): the command's thread starts and ends the world, the trainer's thread steps in it.
/// </summary>
public sealed unsafe class MpiWorld : World
{
    private const int Success = 0, ThreadSerialized = 2;
    private static readonly object Gate = new();
    private static MpiWorld? _started;

    private readonly nint _library;
    private readonly nint _world, _byte, _float, _longLong, _sum, _max;
    private readonly delegate* unmanaged<nint, nint, int, nint, nint, nint, int> _allreduce;
    private readonly delegate* unmanaged<nint, int, nint, int, nint, int> _bcast;
    private readonly delegate* unmanaged<nint, int, nint, nint, int, nint, int, nint, int> _gather;
    private readonly delegate* unmanaged<nint, int, nint, int, int, nint, int> _send;
    private readonly delegate* unmanaged<nint, int, nint, int, int, nint, nint, int> _recv;
    private readonly delegate* unmanaged<nint, int> _barrier;
    private readonly delegate* unmanaged<nint, int, int> _abort;
    private readonly delegate* unmanaged<int> _finalize;
    private bool _finalized;

    public override int Rank { get; }
    public override int Size { get; }

    /// <summary>Initialises MPI once per process (a second call returns the same world).</summary>
    public static MpiWorld Start()
    {
        lock (Gate) return _started ??= new MpiWorld();
    }

    private MpiWorld()
    {
        string name = Platform.MpiLibrary;
        try
        {
            Platform.LoadMpiGlobally(name);
            _library = NativeLibrary.Load(name);
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            throw new UserError($"started by an MPI launcher (OMPI_COMM_WORLD_SIZE or PMI_SIZE is set) but the MPI library '{name}' cannot be loaded ({e.Message.Split('\n')[0]}): {Platform.MpiInstallHint}", e);
        }
        _world = Handle("ompi_mpi_comm_world");
        _byte = Handle("ompi_mpi_byte");
        _float = Handle("ompi_mpi_float");
        _longLong = Handle("ompi_mpi_long_long_int");
        _sum = Handle("ompi_mpi_op_sum");
        _max = Handle("ompi_mpi_op_max");
        var initThread = (delegate* unmanaged<int*, nint, int, int*, int>)Function("MPI_Init_thread");
        var rank = (delegate* unmanaged<nint, int*, int>)Function("MPI_Comm_rank");
        var size = (delegate* unmanaged<nint, int*, int>)Function("MPI_Comm_size");
        _allreduce = (delegate* unmanaged<nint, nint, int, nint, nint, nint, int>)Function("MPI_Allreduce");
        _bcast = (delegate* unmanaged<nint, int, nint, int, nint, int>)Function("MPI_Bcast");
        _gather = (delegate* unmanaged<nint, int, nint, nint, int, nint, int, nint, int>)Function("MPI_Gather");
        _send = (delegate* unmanaged<nint, int, nint, int, int, nint, int>)Function("MPI_Send");
        _recv = (delegate* unmanaged<nint, int, nint, int, int, nint, nint, int>)Function("MPI_Recv");
        _barrier = (delegate* unmanaged<nint, int>)Function("MPI_Barrier");
        _abort = (delegate* unmanaged<nint, int, int>)Function("MPI_Abort");
        _finalize = (delegate* unmanaged<int>)Function("MPI_Finalize");

        int provided, argc = 0, r, s;
        Check(initThread(&argc, 0, ThreadSerialized, &provided), "MPI_Init_thread");
        if (provided < ThreadSerialized)
            throw new UserError($"the MPI library '{name}' gives thread level {provided}; VideoSsl needs MPI_THREAD_SERIALIZED ({ThreadSerialized}) or more");
        Check(rank(_world, &r), "MPI_Comm_rank");
        Check(size(_world, &s), "MPI_Comm_size");
        (Rank, Size) = (r, s);
    }

    private nint Function(string name) => NativeLibrary.TryGetExport(_library, name, out nint address) ? address
        : throw new UserError($"the MPI library '{Platform.MpiLibrary}' has no {name}: is it MPI 3 or later?");

    private nint Handle(string openMpiName)
    {
        if (!Platform.MpiHandlesAreSymbols) return Platform.MsMpiHandles[openMpiName];
        return NativeLibrary.TryGetExport(_library, openMpiName, out nint address) ? address
            : throw new UserError($"the MPI library '{Platform.MpiLibrary}' does not export {openMpiName}: VideoSsl binds Open MPI's handles on this system; set VIDEOSSL_MPI_LIBRARY to Open MPI's libmpi");
    }

    private static void Check(int code, string call)
    {
        // MPI's default error handler aborts the job before a failed call returns; this is for handlers that return.
        if (code != Success) throw new InvalidOperationException($"{call} failed with MPI error {code}");
    }

    /// <summary>One message's element count must fit an int: sent in slices of at most this many.</summary>
    private const int Slice = 1 << 28;

    private float[] _received = [];

    public override void SumInPlace(Span<float> values)
    {
        // Kept from call to call (the gradients' size every step); calls are never concurrent (MPI_THREAD_SERIALIZED).
        if (_received.Length < Math.Min(values.Length, Slice)) _received = new float[Math.Min(values.Length, Slice)];
        var result = _received;
        for (int start = 0; start < values.Length; start += Slice)
        {
            var part = values.Slice(start, Math.Min(Slice, values.Length - start));
            fixed (float* send = part)
            fixed (float* receive = result)
                Check(_allreduce((nint)send, (nint)receive, part.Length, _float, _sum, _world), "MPI_Allreduce");
            result.AsSpan(0, part.Length).CopyTo(part);
        }
    }

    public override long Max(long value) => Reduce(value, _max);

    public override long Sum(long value) => Reduce(value, _sum);

    private long Reduce(long value, nint op)
    {
        long result;
        Check(_allreduce((nint)(&value), (nint)(&result), 1, _longLong, op, _world), "MPI_Allreduce");
        return result;
    }

    public override byte[] Broadcast(byte[]? data)
    {
        if (IsRoot && data is null) throw new ArgumentNullException(nameof(data), "rank 0 must give what it broadcasts");
        long length = IsRoot ? data!.LongLength : 0;
        Check(_bcast((nint)(&length), 1, _longLong, 0, _world), "MPI_Bcast");
        var buffer = IsRoot ? data! : new byte[length];
        for (long start = 0; start < length; start += Slice)
        {
            int count = (int)Math.Min(Slice, length - start);
            fixed (byte* p = &buffer[start]) Check(_bcast((nint)p, count, _byte, 0, _world), "MPI_Bcast");
        }
        return buffer;
    }

    /// <summary>Lengths with one MPI_Gather, then each rank's bytes to rank 0 by point-to-point messages (in slices, any length).</summary>
    public override IReadOnlyList<byte[]> GatherToRoot(byte[] data)
    {
        const int tag = 17;
        long length = data.LongLength;
        var lengths = new long[IsRoot ? Size : 1];
        fixed (long* receive = lengths)
            Check(_gather((nint)(&length), 1, _longLong, (nint)receive, 1, _longLong, 0, _world), "MPI_Gather");
        if (!IsRoot)
        {
            for (long start = 0; start < length; start += Slice)
            {
                int count = (int)Math.Min(Slice, length - start);
                fixed (byte* p = &data[start]) Check(_send((nint)p, count, _byte, 0, tag, _world), "MPI_Send");
            }
            return [];
        }
        var all = new byte[Size][];
        all[0] = data;
        var status = stackalloc byte[64];   // MPI_Status: 24 bytes in Open MPI, 20 in MS-MPI
        for (int rank = 1; rank < Size; rank++)
        {
            all[rank] = new byte[lengths[rank]];
            for (long start = 0; start < lengths[rank]; start += Slice)
            {
                int count = (int)Math.Min(Slice, lengths[rank] - start);
                fixed (byte* p = &all[rank][start]) Check(_recv((nint)p, count, _byte, rank, tag, _world, (nint)status), "MPI_Recv");
            }
        }
        return all;
    }

    public override void Barrier() => Check(_barrier(_world), "MPI_Barrier");

    public override void Abort(int exitCode)
    {
        _abort(_world, exitCode);
        Environment.Exit(exitCode);
    }

    /// <summary>MPI_Finalize: every rank calls it once at the end, after its last collective.</summary>
    public override void Dispose()
    {
        lock (Gate)
        {
            if (_finalized) return;
            _finalized = true;
            _finalize();
        }
    }
}
