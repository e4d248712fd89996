using System.Runtime.ExceptionServices;

namespace VideoSsl.Engine;

/// <summary>
/// One stage of the pipeline: it owns a dedicated thread, a clock and its counters, reads its input from a bounded
/// channel and writes its output to the next. A stage stops when its input ends or when it is cancelled; a fault
/// inside it ends the stage and is reported through <see cref="Completion"/>, never on another thread.
/// </summary>
public abstract class Stage
{
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Thread? _thread;

    /// <param name="clock">The time the stage's clock reads (the machine's unless a test steps its own).</param>
    protected Stage(string name, IClock? clock = null)
    {
        Name = name;
        Clock = new StageClock(clock);
    }

    public string Name { get; }
    public StageCounters Counters { get; } = new();
    public StageClock Clock { get; }

    /// <summary>Completes when the stage's thread has finished, faulted if the stage failed.</summary>
    public Task Completion => _done.Task;

    public StageSnapshot Snapshot() => Counters.Snapshot(Name, Clock.ElapsedSeconds);

    public void Start(CancellationToken cancel)
    {
        if (_thread is not null) throw new InvalidOperationException($"stage {Name} was already started");
        _thread = new Thread(() => RunThread(cancel)) { Name = Name, IsBackground = true };
        _thread.Start();
    }

    private void RunThread(CancellationToken cancel)
    {
        Clock.Start();
        try
        {
            Run(cancel);
            _done.SetResult();
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            _done.SetResult();
        }
        catch (Exception e)
        {
            _done.SetException(e);
        }
        finally
        {
            OnStopped();
        }
    }

    /// <summary>The stage's loop, on its own thread. Return when the input ends; throw to fail the pipeline.</summary>
    protected abstract void Run(CancellationToken cancel);

    /// <summary>Runs on the stage's thread after <see cref="Run"/>, whatever happened: complete outputs here.</summary>
    protected virtual void OnStopped() { }

    /// <summary>Waits for the stage to finish and rethrows its failure, if any, with the original stack.</summary>
    public void WaitAndRethrow()
    {
        try { Completion.Wait(); }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
        }
    }
}

/// <summary>A stage that starts a pipeline: it reads no edge and writes one, which it completes when it stops.</summary>
public abstract class ProducingStage<TOut>(string name, Edge<TOut> output, IClock? clock = null) : Stage(name, clock)
{
    public Edge<TOut> Output { get; } = output;

    protected override void OnStopped() => Output.Complete(Completion.Exception?.InnerException);
}

/// <summary>A stage in the middle of a pipeline: it reads one edge and writes another.</summary>
public abstract class RelayStage<TIn, TOut> : ProducingStage<TOut>
{
    protected RelayStage(string name, Edge<TIn> input, Edge<TOut> output, IClock? clock = null) : base(name, output, clock)
    {
        Input = input;
        Counters.ObserveQueue(() => input.Count);
    }

    protected Edge<TIn> Input { get; }
}

/// <summary>A stage that ends a pipeline: it reads one edge and hands what it makes elsewhere (a model, a file).</summary>
public abstract class ConsumingStage<TIn> : Stage
{
    protected ConsumingStage(string name, Edge<TIn> input, IClock? clock = null) : base(name, clock)
    {
        Input = input;
        Counters.ObserveQueue(() => input.Count);
    }

    protected Edge<TIn> Input { get; }
}
