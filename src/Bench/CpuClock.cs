using System.Diagnostics;
using System.Runtime.InteropServices;

namespace VideoSsl.Bench;

/// <summary>
/// CPU time of this process and of its finished children (FFmpeg runs as a child), from getrusage. Wall-clock
/// numbers are noisy on shared machines; CPU-seconds are the steadier measure of cost.
/// </summary>
public static partial class CpuClock
{
    private const int Self = 0;
    private const int Children = -1;

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeValue
    {
        public long Seconds;
        public long Microseconds;
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct ResourceUsage
    {
        public TimeValue User;
        public TimeValue System;
        public long MaxRss, Ixrss, Idrss, Isrss, Minflt, Majflt, Nswap, Inblock, Oublock, Msgsnd, Msgrcv, Nsignals, Nvcsw, Nivcsw;
    }

    [LibraryImport("libc", EntryPoint = "getrusage", SetLastError = true)]
    private static partial int GetResourceUsage(int who, out ResourceUsage usage);

    public static bool Available => OperatingSystem.IsLinux() || OperatingSystem.IsMacOS();

    /// <summary>CPU seconds of this process so far.</summary>
    public static double SelfSeconds => Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds;

    /// <summary>CPU seconds of all children that have exited and been waited for.</summary>
    public static double ChildrenSeconds => Seconds(Children);

    /// <summary>Peak resident memory of this process, in megabytes.</summary>
    public static double PeakMegabytes => GetResourceUsage(Self, out var usage) == 0 ? usage.MaxRss / 1024.0 : double.NaN;

    private static double Seconds(int who)
    {
        if (!Available || GetResourceUsage(who, out var usage) != 0) return double.NaN;
        return usage.User.Seconds + usage.User.Microseconds / 1e6 + usage.System.Seconds + usage.System.Microseconds / 1e6;
    }

    /// <summary>Wall and CPU seconds (this process and children) of <paramref name="work"/>.</summary>
    public static (double Wall, double Cpu) Measure(Action work)
    {
        double self = SelfSeconds, children = ChildrenSeconds;
        var watch = Stopwatch.StartNew();
        work();
        return (watch.Elapsed.TotalSeconds, SelfSeconds - self + ChildrenSeconds - children);
    }
}
