using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Learning;
using VideoSsl.Messages;
using VideoSsl.Sampling;

namespace VideoSsl.Graph;

/// <summary>Something the plan has to tell the user: a warning (a setting changed, data read afresh) or a note.</summary>
public sealed record PlanNote(bool Warning, string Text);

/// <summary>
/// What a training run will do, worked out before anything starts, from its configuration, its sources (already
/// resolved and probed) and the checkpoint it resumes: the decode schedule, the lanes, where decoding and the
/// sampler resume, and the configuration as it will run. A pure function of its inputs (tested on its own); it
/// throws a <see cref="UserError"/> for a run that cannot work and returns its notes for the caller to log.
/// </summary>
public sealed record RunPlan(
    RunConfig Config,
    IReadOnlyList<DecodeWorkItem> Schedule,
    IReadOnlyList<DecodeWorkItem> Live,
    int FileLanes,
    SamplerState? SamplerResume,
    IReadOnlyList<PlanNote> Notes)
{
    public IReadOnlyList<DecodeWorkItem> AllItems => [.. Schedule, .. Live];

    /// <summary>Frames already counted before this run (a resumed run's data position).</summary>
    public long FramesBefore => SamplerResume?.FramesIngested ?? 0;

    /// <summary>Where decoding starts: the checkpoint's data position, or the beginning.</summary>
    public DecodeResumePoint DecodeStart => SamplerResume?.ToResumePoint() ?? DecodeResumePoint.FromStart(FileLanes);

    /// <summary>Frames this run may still decode under --max-frames (counted across a resume), or null.</summary>
    public long? FrameBudget => Config.Limits.MaxFrames is { } max ? Math.Max(0, max - FramesBefore) : null;

    /// <summary>Frames the schedule should deliver, within --max-frames (for progress).</summary>
    public long ExpectedFrames => Math.Min(Schedule.Sum(w => w.ExpectedFrames), Config.Limits.MaxFrames ?? long.MaxValue);

    public static RunPlan Make(RunConfig config, PreparedSources prepared, Checkpoint? resume)
    {
        var notes = new List<PlanNote>();
        var (schedule, live) = prepared.WorkItems(config.Limits.Epochs, config.Decode);
        CheckFrameRates(config, schedule.Concat(live));
        int fileLanes = Math.Min(config.Decode.ParallelSources, prepared.Files.Count);
        var spans = prepared.Files.Select(f => f.Info.Duration.TotalSeconds - 1 / f.Info.DecodeRate(config.Decode.Fps));
        if (live.Count == 0 && config.Sampler.AnchorsForShortFiles(spans, fileLanes) is { } fit)
        {
            notes.Add(new PlanNote(true, $"train: the files hold at most {fit} anchors {config.Sampler.AnchorSpacing} s apart at a time, fewer than --min-anchors' default {config.Sampler.EffectiveMinAnchors}; training on batches of {fit} (more or longer clips, or a lower --neg-gap, give larger batches)"));
            config = config with { Sampler = config.Sampler with { MinAnchors = fit } };
        }
        if (resume is not null && resume.Info.FrameSize != config.Decode.Size)
            throw new UserError($"checkpoint was trained on {resume.Info.FrameSize} px frames; --size {config.Decode.Size} does not fit it");
        if (config.Decode.KeepRecentMinutes is { } keep && live.Count == 0)
            notes.Add(new PlanNote(true, $"--keep-recent {keep} min: there is no live source to keep (files are already on disk); nothing is recorded"));
        var samplerResume = live.Count > 0 ? null : DataPositionToResume(config, resume, schedule, fileLanes, notes);
        return new RunPlan(config, schedule, live, fileLanes, samplerResume, notes);
    }

    /// <summary>A positive must be another frame within pos-window: the frame interval must fit inside it.</summary>
    private static void CheckFrameRates(RunConfig config, IEnumerable<DecodeWorkItem> items)
    {
        foreach (var item in items.DistinctBy(i => i.Source.Id))
        {
            if (config.Sampler.PosWindow < 1 / item.Rate)
                throw new UserError($"source '{item.Source.Path}': at {item.Rate:0.###} frames/s one frame lasts {1 / item.Rate:0.###} s, longer than pos-window {config.Sampler.PosWindow} s, so no frame has a positive; raise --pos-window or --fps");
        }
    }

    /// <summary>
    /// The sampler continues exactly where the checkpoint left it only when the run reads the same data the same
    /// way; otherwise training continues from the checkpoint's weights on a fresh pass over the sources.
    /// </summary>
    private static SamplerState? DataPositionToResume(RunConfig config, Checkpoint? resume, IReadOnlyList<DecodeWorkItem> schedule, int lanes, List<PlanNote> notes)
    {
        if (resume?.Sampler is not { } state) return null;
        if (config.Sampler.Replay > 0)
        {
            notes.Add(new PlanNote(false, "resume: the replay buffer is not kept in checkpoints; training continues from the weights on a fresh pass over the sources"));
            return null;
        }
        RunConfig before;
        try { before = RunConfig.FromJson(resume.RunConfigJson, "checkpoint", written: true); }
        catch (UserError) { return null; }
        bool same = before.Sources.SequenceEqual(config.Sources) && before.Decode == config.Decode && before.Sampler == config.Sampler
            && before.Limits.Epochs == config.Limits.Epochs && before.Seed == config.Seed && before.Monitor.HoldoutTail == config.Monitor.HoldoutTail
            && state.Decode.Lanes.Count == lanes && state.Rings.All(r => r.WorkItem < schedule.Count);
        if (!same)
        {
            notes.Add(new PlanNote(true, "resume: the sources or the decode/sampler settings differ from the checkpoint's; training continues from its weights on a fresh pass over the sources"));
            return null;
        }
        if (state.Decode.NextWorkItem >= schedule.Count && state.Decode.Lanes.All(l => l is null))
            notes.Add(new PlanNote(true, "resume: the checkpoint had already read all its sources; only frames still buffered remain (raise --epochs to train longer)"));
        return state;
    }
}
