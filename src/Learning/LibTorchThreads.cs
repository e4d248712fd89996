using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using VideoSsl.Engine;
using static TorchSharp.torch;

namespace VideoSsl.Learning;

/// <summary>
/// Runs managed work on LibTorch's own OpenMP thread team. After each of its parallel operations LibTorch's worker
/// threads spin for a while waiting for the next one; work split over .NET's thread pool in that gap competes with
/// them for the cores (a pass over the first layer's output took about twice as long right after a LibTorch op).
/// Handed to the same team through the OpenMP runtime's entry point, the spinning workers take it up.
/// Available where LibTorch runs on GNU OpenMP (its Linux builds); elsewhere <see cref="Available"/> is false.
/// </summary>
internal static unsafe class LibTorchThreads
{
    private static readonly Lazy<Team?> Runtime = new(Resolve);

    public static bool Available => Runtime.Value is not null;

    /// <summary>How many contiguous ranges of at least <paramref name="grain"/> items to cut <paramref name="count"/> into: one per LibTorch thread.</summary>
    public static int Parts(long count, long grain) => (int)Math.Clamp(Math.Min(get_num_threads(), count / grain), 1, 64);

    /// <summary>
    /// Cuts [0, <paramref name="count"/>) into <paramref name="parts"/> contiguous ranges and calls body(part, start, end)
    /// for each on the team (a single part on the calling thread).
    /// </summary>
    public static void ForEachRange(long count, int parts, Action<int, long, long> body)
    {
        if (parts == 1) body(0, 0, count);
        else ForEachPart(parts, part => body(part, count * part / parts, count * (part + 1) / parts));
    }

    /// <summary>Calls <paramref name="body"/> once for each part in [0, parts), spread over the team; returns when all are done.</summary>
    public static void ForEachPart(int parts, Action<int> body)
    {
        var team = Runtime.Value ?? throw new InvalidOperationException("LibTorch's OpenMP runtime was not found in this process.");
        var work = new Work(body, parts, team);
        var handle = GCHandle.Alloc(work);
        try
        {
            team.Parallel(&RunOnTeamThread, (void*)GCHandle.ToIntPtr(handle), (uint)parts, 0);
        }
        finally
        {
            handle.Free();
        }
        work.Failure?.Throw();
    }

    [UnmanagedCallersOnly]
    private static void RunOnTeamThread(void* state)
    {
        var work = (Work)GCHandle.FromIntPtr((IntPtr)state).Target!;
        try
        {
            // The runtime may give fewer threads than asked for: each takes every n-th part.
            int threads = work.Team.NumThreads(), thread = work.Team.ThreadNum();
            for (int part = thread; part < work.Parts; part += threads) work.Body(part);
        }
        catch (Exception e)
        {
            // An exception must not unwind into native code; the caller rethrows it.
            Interlocked.CompareExchange(ref work.Failure, ExceptionDispatchInfo.Capture(e), null);
        }
    }

    private static Team? Resolve()
    {
        if (Platform.LoadedGnuOpenMpLibrary() is not { } path || !NativeLibrary.TryLoad(path, out var library)) return null;
        if (!NativeLibrary.TryGetExport(library, "GOMP_parallel", out var parallel)
            || !NativeLibrary.TryGetExport(library, "omp_get_num_threads", out var numThreads)
            || !NativeLibrary.TryGetExport(library, "omp_get_thread_num", out var threadNum))
            return null;
        return new Team(
            (delegate* unmanaged<delegate* unmanaged<void*, void>, void*, uint, uint, void>)parallel,
            (delegate* unmanaged<int>)numThreads,
            (delegate* unmanaged<int>)threadNum);
    }

    private sealed class Team(
        delegate* unmanaged<delegate* unmanaged<void*, void>, void*, uint, uint, void> parallel,
        delegate* unmanaged<int> numThreads,
        delegate* unmanaged<int> threadNum)
    {
        public void Parallel(delegate* unmanaged<void*, void> function, void* data, uint threads, uint flags) =>
            parallel(function, data, threads, flags);
        public int NumThreads() => numThreads();
        public int ThreadNum() => threadNum();
    }

    private sealed class Work(Action<int> body, int parts, Team team)
    {
        public Action<int> Body { get; } = body;
        public int Parts { get; } = parts;
        public Team Team { get; } = team;
        public ExceptionDispatchInfo? Failure;
    }
}
