using System.Threading.Channels;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Unit;

/// <summary>The engine's own parts, with time stepped by a manual clock instead of slept: clocks, pacing, back-off, the slots and signals between threads, the stage loop.</summary>
[Trait("Category", "Unit")]
public class EngineTests
{
    [Fact]
    public void A_paced_stage_clock_waits_out_its_period_and_never_catches_up_after_a_slow_tick()
    {
        var time = new ManualClock();
        var clock = new StageClock(time);
        clock.Start();
        var ticks = new List<double>();
        using var stop = new CancellationTokenSource();
        var loop = new Thread(() =>
        {
            while (clock.WaitForNextTick(4, stop.Token)) lock (ticks) ticks.Add(clock.ElapsedSeconds);
        });
        loop.Start();
        time.AwaitWait(1);
        Assert.Empty(ticks);   // the first tick is a period away
        time.Advance(0.25);
        time.AwaitWait(2);
        time.Advance(0.25);
        time.AwaitWait(3);
        time.Advance(2.0);     // a long stall: one tick follows it, not the eight it missed
        time.AwaitWait(4);
        stop.Cancel();
        loop.Join();
        Assert.Equal([0.25, 0.5, 2.5], ticks);
    }

    [Fact]
    public void Monitor_pacing_is_due_at_its_own_rate_however_often_it_is_asked()
    {
        var time = new ManualClock();
        var pacing = new MonitorPacing(4, time);
        Assert.True(pacing.Due());
        Assert.False(pacing.Due());
        time.Advance(0.2);
        Assert.False(pacing.Due());
        time.Advance(0.05);
        Assert.True(pacing.Due());
        Assert.False(pacing.Due());
    }

    [Fact]
    public void A_dropped_source_is_retried_after_1_2_4_seconds_up_to_the_maximum_and_from_1_again_once_it_is_back()
    {
        var time = new ManualClock();
        var policy = new ReconnectPolicy(maxSeconds: 5, time);
        Assert.True(policy.Due);
        var waits = new List<double>();
        for (int drop = 0; drop < 5; drop++)
        {
            double wait = policy.Dropped();
            waits.Add(wait);
            Assert.False(policy.Due);
            Assert.Equal(wait, policy.UntilDue.TotalSeconds, 9);
            time.Advance(wait - 0.01);
            Assert.False(policy.Due);
            time.Advance(0.01);
            Assert.True(policy.Due);
        }
        Assert.Equal([1, 2, 4, 5, 5], waits);
        policy.Recovered();
        Assert.Equal(1, policy.Dropped());
    }

    [Fact]
    public void The_overlay_feed_asks_for_display_frames_at_most_at_its_display_rate()
    {
        var time = new ManualClock();
        var feed = new VideoSsl.Messages.Overlay.OverlayFeed(64, 36, displayHz: 10, time);
        int wanted = 0;
        for (int frame = 0; frame < 100; frame++)   // 100 frames at 100 frames/s: one second
        {
            if (feed.WantsDisplayFrame()) wanted++;
            time.Advance(0.01);
        }
        Assert.InRange(wanted, 9, 11);
    }

    [Fact]
    public void A_latest_value_slot_hands_each_value_to_a_reader_once_and_always_the_newest()
    {
        var slot = new LatestValue<string>();
        long seen = 0;
        Assert.False(slot.TryTakeNewer(ref seen, out _));
        slot.Publish("a");
        slot.Publish("b");
        Assert.True(slot.TryTakeNewer(ref seen, out string value));
        Assert.Equal("b", value);
        Assert.False(slot.TryTakeNewer(ref seen, out _));
        Assert.Equal("b", slot.Peek());
        slot.Publish("c");
        Assert.True(slot.TryTakeNewer(ref seen, out value));
        Assert.Equal("c", value);
    }

    [Fact]
    public void A_burst_signal_wakes_its_consumer_for_a_full_burst_or_the_end_and_not_for_less()
    {
        var signal = new BurstSignal();
        int queued = 0;
        bool finished = false;
        using var woke = new ManualResetEventSlim();
        var consumer = new Thread(() =>
        {
            signal.Wait(8, () => Volatile.Read(ref queued), () => Volatile.Read(ref finished), CancellationToken.None);
            woke.Set();
        });
        consumer.Start();
        while (consumer.ThreadState != ThreadState.WaitSleepJoin) Thread.Sleep(1);
        for (int i = 1; i < 8; i++) signal.Notify(Interlocked.Increment(ref queued), finished: false);
        Assert.False(woke.Wait(100), "woken before the burst was complete");
        signal.Notify(Interlocked.Increment(ref queued), finished: false);
        Assert.True(woke.Wait(5000));
        consumer.Join();

        // The producer's end wakes a consumer however little is queued.
        queued = 0;
        woke.Reset();
        var last = new Thread(() =>
        {
            signal.Wait(8, () => Volatile.Read(ref queued), () => Volatile.Read(ref finished), CancellationToken.None);
            woke.Set();
        });
        last.Start();
        while (last.ThreadState != ThreadState.WaitSleepJoin) Thread.Sleep(1);
        Volatile.Write(ref finished, true);
        signal.Notify(0, finished: true);
        Assert.True(woke.Wait(5000));
        last.Join();
    }

    /// <summary>A stage that passes numbers on, fails on request, and stops when its input ends.</summary>
    private sealed class Relay(string name, ChannelReader<int>? input, Channel<int> output, int? failAt = null, int produce = 0) : Stage(name)
    {
        protected override void Run(CancellationToken cancel)
        {
            if (input is null)
            {
                for (int i = 0; i < produce; i++) output.Writer.WriteBlocking(i, cancel);
                return;
            }
            while (input.TryReadBlocking(out int item, cancel))
            {
                if (item == failAt) throw new InvalidOperationException($"{Name} failed at {item}");
                Counters.CountIn();
                output.Writer.WriteBlocking(item, cancel);
            }
        }

        protected override void OnStopped() => output.Writer.TryComplete(Completion.Exception?.InnerException);
    }

    [Fact]
    public void The_stage_loop_ticks_until_the_last_stage_ends_then_stops_the_others_and_rethrows_the_first_fault_in_pipeline_order()
    {
        var a = Channel.CreateUnbounded<int>();
        var b = Channel.CreateUnbounded<int>();
        var c = Channel.CreateUnbounded<int>();
        var source = new Relay("source", null, a, produce: 100);
        var middle = new Relay("middle", a.Reader, b);
        var sink = new Relay("sink", b.Reader, c);
        using var halt = new CancellationTokenSource();
        int ticks = 0;
        StageLoop.Run([source, middle, sink], halt, 1000, () => ticks++);
        Assert.True(ticks >= 1);
        Assert.Equal(100, sink.Snapshot().ItemsIn);
        Assert.All(new Stage[] { source, middle, sink }, s => Assert.True(s.Completion.IsCompletedSuccessfully));

        var d = Channel.CreateUnbounded<int>();
        var e = Channel.CreateUnbounded<int>();
        var f = Channel.CreateUnbounded<int>();
        var failing = new Relay("failing", d.Reader, e, failAt: 5);
        var after = new Relay("after", e.Reader, f);
        var feeder = new Relay("feeder", null, d, produce: 10);
        using var halt2 = new CancellationTokenSource();
        var error = Assert.Throws<InvalidOperationException>(() => StageLoop.Run([feeder, failing, after], halt2, 1000, () => { }));
        Assert.Equal("failing failed at 5", error.Message);   // the stage that failed, not the one that saw the fault arrive
    }
}
