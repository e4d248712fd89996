using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Learning;
using VideoSsl.Messages;

namespace VideoSsl.Graph;

/// <summary>What the monitor shows while a run goes on.</summary>
public sealed record RunProgress(
    double ElapsedSeconds,
    long Step,
    long? MaxSteps,
    long FramesSeen,
    long ExpectedFrames,
    StepResult? LastStep,
    double TrainFramesPerSecond,
    IReadOnlyList<StageSnapshot> Stages,
    string? CurrentSource,
    long Reconnects = 0,
    double? MaxSeconds = null);

/// <summary>Receives progress on the thread that runs the graph, a few times a second.</summary>
public interface IRunObserver
{
    void OnProgress(RunProgress progress);
}

/// <summary>How one pass over one source went.</summary>
public sealed record SourceReport(string Path, int Epoch, long Frames, long ExpectedFrames, string? Error, bool Partial, bool Stopped);

/// <summary>The end of a training run, as printed and as written to RUN_DIR/summary.json.</summary>
public sealed record TrainingSummary(
    string RunDirectory,
    string? Checkpoint,
    string Metrics,
    string Device,
    bool Resumed,
    string StopReason,
    long Steps,
    long StepsThisRun,
    long FramesSeen,
    double Seconds,
    double? FirstLossNorm,
    double? LastLossNorm,
    IReadOnlyList<SourceReport> Sources,
    IReadOnlyList<SkippedSource> Skipped,
    IReadOnlyList<StageSnapshot> Stages,
    long Reconnects,
    OverlaySummary? Overlay = null,
    int WorldSize = 1,
    double? AllreduceSeconds = null);

/// <summary>What the overlay drew during a run.</summary>
public sealed record OverlaySummary(long FramesRendered);

/// <summary>The end of an embedding run.</summary>
public sealed record EmbeddingSummary(string Npy, string Csv, long Rows, int Dimension, IReadOnlyList<SourceReport> Sources, bool Interrupted);
