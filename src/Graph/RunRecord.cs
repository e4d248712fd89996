using Microsoft.Extensions.Logging;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Learning;
using VideoSsl.Messages;
using VideoSsl.Sampling;

namespace VideoSsl.Graph;

/// <summary>
/// What a training run has done so far, gathered from its stages' events on their own threads: every source pass
/// and how it ended, the loss curve, the newest step, which source is being read and in which pass. The monitor, the
/// overlay and the summary read it from the graph's thread.
/// </summary>
public sealed class RunRecord(int filePasses, ILogger log)
{
    private readonly List<SourceReport> _reports = [];
    private readonly List<double> _lossNorms = [];
    private StepResult? _lastStep;
    private string? _currentSource;
    private int _epoch;

    public StepResult? LastStep => Volatile.Read(ref _lastStep);
    public string? CurrentSource => Volatile.Read(ref _currentSource);
    public int Epoch => Volatile.Read(ref _epoch);

    public IReadOnlyList<SourceReport> Reports
    {
        get { lock (_reports) return [.. _reports]; }
    }

    /// <summary>The sample stage's source events: which source is being read, and how each pass ended (logged when it went wrong).</summary>
    public void OnSourceEvent(DecodeOutput message)
    {
        if (message.Kind == DecodeEventKind.SourceStarted)
        {
            // Live sources run all along; for files, say which pass of how many has just begun.
            string where = message.Item.Source.Live ? message.Item.Source.Name : $"file {message.Item.Index + 1}/{filePasses} {message.Item.Source.Name}";
            Volatile.Write(ref _currentSource, where);
            Volatile.Write(ref _epoch, message.Item.Epoch);
            log.LogDebug("decode: started {Source} (epoch {Epoch})", message.Item.Source.Path, message.Item.Epoch + 1);
            return;
        }
        if (message.Outcome is not { } outcome) return;
        var report = new SourceReport(message.Item.Source.Path, message.Item.Epoch, outcome.FramesDelivered, outcome.ExpectedFrames,
            outcome.Error, outcome.LooksPartial, outcome.Stopped);
        lock (_reports) _reports.Add(report);
        if (outcome.Error is { } error)
            log.LogWarning("source '{Source}': FFmpeg failed after {Frames} frames ({Error}); the frames so far are kept",
                message.Item.Source.Path, outcome.FramesDelivered, error);
        else if (outcome.LooksPartial)
            log.LogWarning("source '{Source}': partial, {Frames} of {Expected} expected frames; the frames so far are kept",
                message.Item.Source.Path, outcome.FramesDelivered, outcome.ExpectedFrames);
    }

    /// <summary>The trainer's steps.</summary>
    public void OnStep(StepResult step)
    {
        if (step.Applied && double.IsFinite(step.LossNorm)) lock (_lossNorms) _lossNorms.Add(step.LossNorm);
        if (step.Quality is { } quality) lock (_quality) _quality.Add((step.Step, quality));
        Volatile.Write(ref _lastStep, step);
    }

    private readonly List<(long Step, QualityScores Scores)> _quality = [];

    /// <summary>Every measurement of the online monitor so far (the overlay's held-out curve).</summary>
    public List<(long Step, QualityScores Scores)> QualityHistory()
    {
        lock (_quality) return [.. _quality];
    }

    /// <summary>The newest <paramref name="count"/> values of loss_norm (the overlay's loss curve).</summary>
    public List<double> RecentLossNorms(int count)
    {
        lock (_lossNorms) return _lossNorms.Count <= count ? [.. _lossNorms] : _lossNorms.GetRange(_lossNorms.Count - count, count);
    }

    /// <summary>loss_norm over the first and the last ten steps, when there were any.</summary>
    public (double? First, double? Last) LossNormEnds()
    {
        lock (_lossNorms) return _lossNorms.Count > 0 ? (_lossNorms.Take(10).Average(), _lossNorms.TakeLast(10).Average()) : (null, null);
    }

    /// <summary>
    /// Why a run that trained nothing could not, in the user's terms: sources that failed to decode, none that sent a
    /// frame, or frames too few or too close together for a batch.
    /// </summary>
    public string WhyNoStep(string when, long framesDelivered, IEnumerable<VideoSource> sources, SamplerSettings sampler, double longestSpan)
    {
        var reports = Reports;
        var failures = reports.Where(r => r.Error is not null).ToList();
        if (failures.Count > 0)
            return $"no training step was possible{when}: {failures.Count} of {reports.Count} source passes failed to decode (first: '{failures[0].Path}': {failures[0].Error})";
        if (framesDelivered == 0)
            return $"no training step was possible{when}: no frame arrived from {string.Join(", ", sources.Select(s => $"'{s.Path}'"))}";
        return $"no training step was possible{when}: a batch needs at least {sampler.EffectiveMinAnchors} anchors spaced " +
            $"neg-gap + pos-window = {sampler.AnchorSpacing} s apart, and the sources held at most {longestSpan:0.#} s " +
            "of video at a time; use longer or more clips, or lower --neg-gap or --batch";
    }
}
