using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Graph;
using VideoSsl.Learning;
using VideoSsl.Messages;
using VideoSsl.Sampling;

namespace VideoSsl.Tests.Unit;

/// <summary>The plan of a training run, worked out from its configuration, probed sources and checkpoint, without running anything.</summary>
[Trait("Category", "Unit")]
public class RunPlanTests
{
    private static PreparedSources Files(params double[] seconds) => new(
        seconds.Select((s, i) => (new VideoSource(i, $"clip{i}.mp4", false),
            new VideoInfo($"clip{i}.mp4", "mp4", TimeSpan.FromSeconds(s), "h264", 160, 120, "yuv420p", 25, 25, 0, null, false))).ToList(),
        [], []);

    private static readonly RunConfig Config = new RunConfig { Sources = ["clips/"], Out = "run" }.WithBackbone(Learning.Backbones.BackboneKind.Small);

    private static Checkpoint Checkpoint(RunConfig config, SamplerState? sampler, int frameSize = 96) =>
        new(new CheckpointInfo(Learning.Checkpoint.CurrentFormat, 10, 500, null, DateTimeOffset.UnixEpoch, new ModelSettings(), frameSize), config.ToJson(), sampler, [], [], []);

    private static SamplerState State(int lanes) => new([1, 2, 3, 4], 0, 500, 10, [], new DecodeCursor(1, 0, new LaneCursor?[lanes]));

    [Fact]
    public void Files_schedule_one_pass_each_per_epoch_on_at_most_parallel_sources_lanes()
    {
        var plan = RunPlan.Make(Config with { Limits = Config.Limits with { Epochs = 3 } }, Files(30, 40, 50), resume: null);
        Assert.Equal(9, plan.Schedule.Count);
        Assert.Equal([0, 1, 2, 0, 1, 2, 0, 1, 2], plan.Schedule.Select(w => w.Source.Id));
        Assert.Equal(2, plan.FileLanes);
        Assert.Null(plan.SamplerResume);
        Assert.Equal(DecodeResumePoint.FromStart(2).Lanes.Count, plan.DecodeStart.Lanes.Count);
        Assert.Equal(3 * (30 + 40 + 50) * 25, plan.ExpectedFrames);
        Assert.Empty(plan.Notes);
    }

    [Fact]
    public void Files_too_short_for_the_default_batch_lower_the_smallest_batch_and_say_so()
    {
        var plan = RunPlan.Make(Config, Files(6, 6, 3), resume: null);
        Assert.Equal(4, plan.Config.Sampler.MinAnchors);   // two anchors 2.5 s apart in each of the two longest
        Assert.Contains("training on batches of 4", Assert.Single(plan.Notes, n => n.Warning).Text);
    }

    [Fact]
    public void A_frame_rate_too_low_for_the_positive_window_or_a_checkpoint_of_another_frame_size_is_refused()
    {
        var slow = Assert.Throws<UserError>(() => RunPlan.Make(Config with { Decode = Config.Decode with { Fps = 1 } }, Files(30), null));
        Assert.Contains("longer than pos-window", slow.Message);
        var size = Assert.Throws<UserError>(() => RunPlan.Make(Config, Files(30), Checkpoint(Config, null, frameSize: 64)));
        Assert.Contains("trained on 64 px frames", size.Message);
    }

    [Fact]
    public void A_resume_continues_at_the_checkpoints_data_position_only_when_it_reads_the_same_data_the_same_way()
    {
        var same = RunPlan.Make(Config, Files(30, 40), Checkpoint(Config, State(lanes: 2)));
        Assert.NotNull(same.SamplerResume);
        Assert.Equal(500, same.FramesBefore);
        Assert.Equal(1, same.DecodeStart.NextWorkItem);

        var moved = RunPlan.Make(Config with { Seed = 7 }, Files(30, 40), Checkpoint(Config, State(lanes: 2)));
        Assert.Null(moved.SamplerResume);
        Assert.Contains("differ from the checkpoint's", Assert.Single(moved.Notes).Text);

        // Another holdout tail cuts the files elsewhere: the checkpoint's frame positions no longer point at the same frames.
        var tail = Config with { Monitor = Config.Monitor with { HoldoutTail = 0.2 } };
        Assert.Null(RunPlan.Make(tail, Files(30, 40).SplitTail(0.2).Heads, Checkpoint(Config, State(lanes: 2))).SamplerResume);
        Assert.NotNull(RunPlan.Make(tail, Files(30, 40).SplitTail(0.2).Heads, Checkpoint(tail, State(lanes: 2))).SamplerResume);

        var limited = RunPlan.Make(Config with { Limits = Config.Limits with { MaxFrames = 800 } }, Files(30, 40),
            Checkpoint(Config with { Limits = Config.Limits with { MaxFrames = 800 } }, State(lanes: 2)));
        Assert.Equal(300, limited.FrameBudget);   // --max-frames counts the frames before the resume too
    }
}
