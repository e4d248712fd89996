namespace VideoSsl.Engine;

/// <summary>
/// A graph of stages joined by edges, declared in one place: the edges (their capacity and how their consumer wakes)
/// and the stages in pipeline order. It runs them with <see cref="StageLoop"/> and gives the monitor, the metrics log
/// and the summary every stage's counters in that order.
/// </summary>
public sealed class PipelineGraph
{
    private readonly List<Stage> _stages = [];

    public IReadOnlyList<Stage> Stages => _stages;

    /// <summary>A new edge; its producer and consumer are the stages it is handed to.</summary>
    public Edge<T> Edge<T>(string name, int capacity, int wakeBurst = 1) => new(name, capacity, wakeBurst);

    /// <summary>Adds the next stage in pipeline order (the first produces, the last ends the run when it ends).</summary>
    public TStage Stage<TStage>(TStage stage) where TStage : Stage
    {
        _stages.Add(stage);
        return stage;
    }

    /// <summary>Every stage's counters now, in pipeline order.</summary>
    public IReadOnlyList<StageSnapshot> Snapshots() => _stages.Select(s => s.Snapshot()).ToList();

    public void Run(CancellationTokenSource halt, double hertz, Action tick, IClock? clock = null) => StageLoop.Run(_stages, halt, hertz, tick, clock);
}
