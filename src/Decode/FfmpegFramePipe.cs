using System.Diagnostics;
using VideoSsl.Engine;

namespace VideoSsl.Decode;

/// <summary>
/// One ffmpeg writing raw frames to its standard output, as every decoder of files and live sources runs it: started
/// through <see cref="FfmpegTools"/> (guarded), below normal priority unless its input is live, the
/// last lines of its stderr kept for the error message, killed as soon as the stop token fires, and its output
/// pipe widened so that it can run a few dozen frames ahead (the reader is woken less often).
/// </summary>
internal sealed class FfmpegFramePipe : IDisposable
{
    private readonly CancellationTokenRegistration _stopping;

    private FfmpegFramePipe(Process process, CancellationToken stop)
    {
        Process = process;
        Errors = new StderrTail(process);
        _stopping = stop.Register(() => FfmpegTools.Kill(process));
        Frames = process.StandardOutput.BaseStream;
        Platform.WidenPipe(Frames, 1 << 20);
    }

    /// <summary>With an argument string as FFMpegCore builds it.</summary>
    /// <exception cref="IOException">or <see cref="System.ComponentModel.Win32Exception"/>: ffmpeg could not be started.</exception>
    public static FfmpegFramePipe Start(string arguments, bool live, CancellationToken stop) => Start(FfmpegTools.StartInfo(arguments), live, stop);

    /// <summary>With a list of arguments.</summary>
    public static FfmpegFramePipe Start(IEnumerable<string> arguments, bool live, CancellationToken stop) => Start(FfmpegTools.StartInfo(arguments), live, stop);

    private static FfmpegFramePipe Start(ProcessStartInfo start, bool live, CancellationToken stop)
    {
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        var process = Process.Start(start) ?? throw new IOException("ffmpeg did not start");
        if (!live) FfmpegTools.Yield(process);
        return new FfmpegFramePipe(process, stop);
    }

    public Process Process { get; }

    /// <summary>ffmpeg's standard output: the frames, back to back.</summary>
    public Stream Frames { get; }

    public StderrTail Errors { get; }

    /// <summary>Waits for ffmpeg to exit, killing it first when it was stopped early (it may be blocked writing the next frame); its exit code.</summary>
    public int Finish(bool kill)
    {
        if (kill) FfmpegTools.Kill(Process);
        Process.WaitForExit();
        return Process.ExitCode;
    }

    public void Dispose()
    {
        _stopping.Dispose();
        Process.Dispose();
    }
}
