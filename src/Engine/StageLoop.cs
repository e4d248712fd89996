namespace VideoSsl.Engine;

/// <summary>
/// The main loop of a graph of stages, run on the calling thread like a game's fixed-rate update: start every
/// stage, tick a few times a second (progress, limits) until the last stage is done, then stop the others, wait
/// for them, and rethrow the first fault in pipeline order (later stages only saw it arrive through their input).
/// </summary>
public static class StageLoop
{
    public static void Run(IReadOnlyList<Stage> stages, CancellationTokenSource halt, double hertz, Action tick, IClock? time = null)
    {
        foreach (var stage in stages) stage.Start(halt.Token);
        var clock = new StageClock(time);
        clock.Start();
        var last = stages[^1];
        while (!last.Completion.IsCompleted)
        {
            clock.WaitForNextTick(hertz, CancellationToken.None);
            tick();
        }
        halt.Cancel();
        foreach (var stage in stages) ((IAsyncResult)stage.Completion).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(15));
        tick();
        stages.FirstOrDefault(s => s.Completion.IsFaulted)?.WaitAndRethrow();
    }
}
