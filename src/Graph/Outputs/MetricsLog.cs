using System.Text.Json;
using VideoSsl.Engine;
using VideoSsl.Learning;

namespace VideoSsl.Graph.Outputs;

/// <summary>
/// RUN_DIR/metrics.jsonl: one JSON object per training step, flushed as it is written so that a run killed at any
/// moment keeps every line up to its last step. A resumed run appends.
/// </summary>
public sealed class MetricsLog : IDisposable
{
    private readonly FileStream _file;
    private readonly Utf8JsonWriter _json;
    private readonly Queue<(double Seconds, long Frames)> _recent = new();

    public MetricsLog(string path, bool append)
    {
        Path = path;
        _file = new FileStream(path, append ? FileMode.Append : FileMode.Create, FileAccess.Write, FileShare.Read);
        _json = new Utf8JsonWriter(_file, new JsonWriterOptions { Indented = false, SkipValidation = true });
    }

    public string Path { get; }

    /// <summary>Training frames per second over the last few steps.</summary>
    public double RecentFramesPerSecond { get; private set; }

    /// <summary>Appends one step's line; a disk that is full or failing stops the run with one line saying so.</summary>
    /// <param name="stages">Every stage's counters in pipeline order; the decode, sample and train stages give the queue and drop fields.</param>
    public void Write(StepResult step, double elapsedSeconds, int epoch, long reconnects, IReadOnlyList<StageSnapshot> stages)
    {
        try
        {
            WriteLine(step, elapsedSeconds, epoch, reconnects, stages);
        }
        catch (IOException e)
        {
            throw new UserError($"metrics '{Path}': could not be written ({e.Message})", e);
        }
    }

    private void WriteLine(StepResult step, double elapsedSeconds, int epoch, long reconnects, IReadOnlyList<StageSnapshot> stages)
    {
        StageSnapshot Stage(string name) => stages.First(s => s.Stage == name);
        var (decode, sample, train) = (Stage("decode"), Stage("sample"), Stage("train"));
        _recent.Enqueue((step.Seconds, 2L * step.Pairs));
        if (_recent.Count > 10) _recent.Dequeue();
        double seconds = _recent.Sum(r => r.Seconds);
        RecentFramesPerSecond = seconds > 0 ? _recent.Sum(r => r.Frames) / seconds : 0;

        _json.Reset(_file);
        _json.WriteStartObject();
        _json.WriteNumber("step", step.Step);
        _json.WriteBoolean("applied", step.Applied);
        _json.WriteNumber("time_s", Math.Round(elapsedSeconds, 3));
        _json.WriteNumber("epoch", epoch);
        _json.WriteNumber("frames", step.FramesSeen);
        _json.WriteNumber("pairs", step.Pairs);
        // Under MPI: every rank's pairs of this step, and this rank's wait in the gradient allreduce.
        if (step.WorldPairs is { } worldPairs) _json.WriteNumber("world_pairs", worldPairs);
        if (step.AllreduceSeconds is { } allreduce) _json.WriteNumber("allreduce_s", Math.Round(allreduce, 6));
        Number("loss", step.Loss);
        Number("loss_norm", step.LossNorm);
        Number("pair_acc", step.PairAccuracy);
        Number("masked_fraction", step.MaskedFraction);
        Number("candidates", step.MeanCandidates);
        Number("embedding_std", step.EmbeddingStd);
        Number("mean_similarity", step.MeanSimilarity);
        _json.WriteNumber("lr", step.LearningRate);
        Number("step_s", step.Seconds);
        Number("frames_per_s", RecentFramesPerSecond);
        Number("decode_frames_per_s", decode.ElapsedSeconds > 0 ? decode.ItemsOut / decode.ElapsedSeconds : 0);
        _json.WriteNumber("queue_frames", sample.QueueDepth);
        _json.WriteNumber("queue_batches", train.QueueDepth);
        _json.WriteNumber("dropped_frames", decode.Dropped + sample.Dropped);
        _json.WriteNumber("skipped_batches", train.Dropped);
        _json.WriteNumber("reconnects", reconnects);
        Number("latency_ms", step.LatencySeconds * 1000);
        if (step.Quality is { } quality)
        {
            // The online monitor's held-out numbers, unrounded: they are eval's on a checkpoint of this step.
            _json.WriteStartObject("heldout");
            Exact("auc", quality.Auc);
            Exact("tau", quality.Tau);
            Exact("map", quality.MeanAveragePrecision);
            Number("seconds", quality.Seconds);
            _json.WriteEndObject();
        }
        _json.WriteStartObject("stages");
        foreach (var stage in stages)
        {
            _json.WriteStartObject(stage.Stage);
            _json.WriteNumber("in", stage.ItemsIn);
            _json.WriteNumber("out", stage.ItemsOut);
            _json.WriteNumber("queue", stage.QueueDepth);
            _json.WriteNumber("dropped", stage.Dropped);
            _json.WriteNumber("busy", Math.Round(stage.BusyFraction, 4));
            _json.WriteEndObject();
        }
        _json.WriteEndObject();
        _json.WriteEndObject();
        _json.Flush();
        _file.WriteByte((byte)'\n');
        _file.Flush();
    }

    private void Exact(string name, double value)
    {
        if (double.IsFinite(value)) _json.WriteNumber(name, value);
        else _json.WriteNull(name);
    }

    private void Number(string name, double value)
    {
        if (double.IsFinite(value)) _json.WriteNumber(name, Math.Round(value, 6));
        else _json.WriteNull(name);
    }

    public void Dispose()
    {
        try
        {
            _json.Dispose();
            _file.Dispose();
        }
        catch (IOException)
        {
            // the last line could not be flushed; the failure was already reported when it was written
        }
    }
}
