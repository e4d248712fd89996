using VideoSsl.Messages.Overlay;

namespace VideoSsl.Graph;

/// <summary>
/// Why a graph stops, for every graph alike: the user (Ctrl+C or SIGTERM, or closing the overlay), a limit (time,
/// steps, frames), or the end of the sources. The monitor asks <see cref="Check"/> every tick, which halts the graph
/// when a limit it watches is reached; <see cref="Finish"/> names the reason once the stages have stopped.
/// </summary>
public sealed class StopPolicy(RunLimits limits, CancellationToken interrupt, CancellationTokenSource halt, IOverlayView? view = null)
{
    private string? _reason;

    /// <summary>Why the run stopped (or is stopping); null while it goes on.</summary>
    public string? Reason => _reason;

    /// <summary>The user asked it to stop: an interrupt, or the overlay closed.</summary>
    public bool UserStopped => interrupt.IsCancellationRequested || view is { QuitRequested: true };

    /// <summary>True once <see cref="Finish"/> found no other reason than the sources' end.</summary>
    public bool SourcesEnded { get; private set; }

    /// <summary>Every tick (the last one, after the stages stopped, included): records the first reason and halts the graph.</summary>
    public void Check(double elapsedSeconds)
    {
        if (view is { QuitRequested: true } && !halt.IsCancellationRequested) Stop("the overlay was closed");
        if (interrupt.IsCancellationRequested) _reason ??= "it was interrupted";
        if (limits.MaxSeconds is { } seconds && elapsedSeconds >= seconds && !halt.IsCancellationRequested)
            Stop($"the time limit ({seconds} s) was reached");
    }

    /// <summary>Once the stages have stopped: the step and frame limits, else the end of the sources.</summary>
    public string Finish(long steps, long frames)
    {
        if (limits.MaxSteps is { } maxSteps && steps >= maxSteps) _reason ??= $"the step limit ({maxSteps}) was reached";
        if (frames >= (limits.MaxFrames ?? long.MaxValue)) _reason ??= $"the frame limit ({limits.MaxFrames}) was reached";
        SourcesEnded = _reason is null;
        return _reason ??= "the sources ended";
    }

    /// <summary>The run failed: that is its reason.</summary>
    public void Failed(string why) => _reason = $"it failed: {why}";

    private void Stop(string why)
    {
        _reason ??= why;
        halt.Cancel();
    }
}
