using Microsoft.Extensions.Logging;
using VideoSsl.Decode;
using VideoSsl.Decode.Sources;
using VideoSsl.Engine;
using VideoSsl.Engine.Distributed;
using VideoSsl.Messages;

namespace VideoSsl.Graph;

/// <summary>The sources a run will read: files (each probed) and live sources.</summary>
public sealed record PreparedSources(
    IReadOnlyList<(VideoSource Source, VideoInfo Info)> Files,
    IReadOnlyList<VideoSource> Live,
    IReadOnlyList<SkippedSource> Skipped)
{
    public int Count => Files.Count + Live.Count;

    /// <summary>File work items (every file once per epoch) followed by one item per live source.</summary>
    public (IReadOnlyList<DecodeWorkItem> Files, IReadOnlyList<DecodeWorkItem> Live) WorkItems(int epochs, DecodeSettings settings)
    {
        var files = DecodeSchedule.Files(Files, epochs, settings);
        var live = DecodeSchedule.Live(Live.Select(s => (s, (VideoInfo?)null)), files.Count, settings);
        return (files, live);
    }

    /// <summary>
    /// The sources with the last <paramref name="fraction"/> of every file cut off (<see cref="ClipWindow"/>), and
    /// those tails as sources of their own: training reads the first, the online monitor measures the second, so a
    /// run has held-out frames of its own footage with no clips from the user. Live sources stay with the first.
    /// </summary>
    public (PreparedSources Heads, PreparedSources Tails) SplitTail(double fraction)
    {
        var heads = new List<(VideoSource, VideoInfo)>();
        var tails = new List<(VideoSource, VideoInfo)>();
        foreach (var (source, info) in Files)
        {
            double whole = (source.Window?.Length ?? info.Duration.TotalSeconds), start = source.Window?.Start ?? 0;
            double kept = Math.Round(whole * (1 - fraction), 3);
            heads.Add((source with { Window = new ClipWindow(start, kept) }, info with { Duration = TimeSpan.FromSeconds(kept) }));
            tails.Add((source with { Window = new ClipWindow(start + kept, whole - kept) }, info with { Duration = TimeSpan.FromSeconds(whole - kept) }));
        }
        return (this with { Files = heads }, new PreparedSources(tails, [], []));
    }
}

public static class SourcePreparation
{
    /// <summary>
    /// Resolves what the user named and checks every source before anything starts: files are probed; a file the
    /// user named is an error when it cannot be read, while a file found inside a folder is reported and skipped.
    /// Live sources are checked by their kind (a camera that is missing, no display to capture: one line) and opened
    /// by the decode stage itself.
    /// </summary>
    /// <param name="share">The block of the files this process takes (an MPI rank, a job-array shard): the sources are
    /// split after the walk, so that each file is probed and read by one process only; a share may be empty. A source
    /// named with <see cref="RankPlaceholder"/> is not split: each share reads its own, with the placeholder replaced
    /// by its index (a live stream per rank, or a folder per rank).</param>
    public static PreparedSources Prepare(IReadOnlyList<string> specs, bool realtime, ILogger log, CancellationToken cancel, WorkShare? share = null)
    {
        share ??= WorkShare.Whole;
        var ownSpecs = specs.Where(s => s.Contains(RankPlaceholder, StringComparison.Ordinal))
            .Select(s => s.Replace(RankPlaceholder, share.Index.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)).ToList();
        var sharedSpecs = specs.Where(s => !s.Contains(RankPlaceholder, StringComparison.Ordinal)).ToList();
        var shared = sharedSpecs.Count > 0 ? SourceResolver.Resolve(sharedSpecs, realtime, cancel) : null;
        var own = ownSpecs.Count > 0 ? SourceResolver.Resolve(ownSpecs, realtime, cancel) : null;
        var files = new List<(VideoSource, VideoInfo)>();
        var live = new List<VideoSource>();
        var skipped = new List<SkippedSource>();
        foreach (var entry in shared?.Skipped ?? [])
        {
            if (share.Index == 0) log.LogWarning("{Message}; skipped", entry.Reason);   // every share walks the same folder: one says so
            skipped.Add(entry);
        }
        foreach (var entry in own?.Skipped ?? [])
        {
            log.LogWarning("{Message}; skipped", entry.Reason);
            skipped.Add(entry);
        }
        var sources = shared?.Sources ?? [];
        if (!share.IsWhole)
        {
            if (sources.FirstOrDefault(s => !s.IsFile) is { } liveSource)
                throw new UserError($"source '{liveSource.Path}': a live source cannot be split into shares; name one for each rank with {RankPlaceholder} (e.g. udp://0.0.0.0:500{RankPlaceholder}), or name files or folders");
            sources = sources.Take(share.Of(sources.Count)).ToList();
        }
        sources = [.. sources, .. own?.Sources ?? []];
        var probed = ProbeAll(sources, cancel);
        int id = 0;
        for (int i = 0; i < sources.Count; i++)
        {
            var source = sources[i];
            if (!source.IsFile)
            {
                SourceKinds.Of(source).CheckAvailable(source);
                live.Add(source with { Id = id++ });
                continue;
            }
            try
            {
                var info = probed[i].Info ?? throw probed[i].Error!;
                files.Add((source with { Id = id++ }, info));
            }
            catch (UserError e) when (source.FromFolder)
            {
                log.LogWarning("{Message}; skipped", e.Message);
                skipped.Add(new SkippedSource(source.Path, e.Message));
            }
        }
        int named = (shared?.Sources.Count ?? 0) + (shared?.Skipped.Count ?? 0) + (own?.Sources.Count ?? 0) + (own?.Skipped.Count ?? 0);
        if (files.Count + live.Count == 0 && share.IsWhole)
            throw new UserError($"none of the {named} video files under {string.Join(", ", specs.Select(p => $"'{p}'"))} can be read: {skipped[0].Reason}");
        return new PreparedSources(files, live, skipped);
    }

    /// <summary>In a source's name, the index of the rank (or shard) reading it: <c>--source udp://0.0.0.0:500{rank}</c>, <c>--source /data/part{rank}</c>.</summary>
    public const string RankPlaceholder = "{rank}";

    /// <summary>Probing processes at once, at most this many: much of a probe's time is opening files, not CPU.</summary>
    private static int ProbesAtOnce => Math.Clamp(2 * Environment.ProcessorCount, 2, 8);

    /// <summary>
    /// Every file's probe, several at a time (a folder of short clips spent most of its start probing one after
    /// another), each result kept at its file's place so that what follows is in the walk's order whatever finished
    /// first. Files found in folders are probed many to an FFmpeg process (<see cref="HeaderProbe"/>), files named
    /// outright by FFprobe each: how a file is probed depends only on how it was named, never on the share.
    /// </summary>
    private static (VideoInfo? Info, UserError? Error)[] ProbeAll(IReadOnlyList<VideoSource> sources, CancellationToken cancel)
    {
        var results = new (VideoInfo?, UserError?)[sources.Count];
        var units = new List<int[]>();
        var walked = Enumerable.Range(0, sources.Count).Where(i => sources[i].IsFile && sources[i].FromFolder).ToArray();
        units.AddRange(walked.Chunk(HeaderProbe.FilesPerProcess));
        units.AddRange(Enumerable.Range(0, sources.Count).Where(i => sources[i].IsFile && !sources[i].FromFolder).Select(i => new[] { i }));
        var options = new ParallelOptions { MaxDegreeOfParallelism = ProbesAtOnce, CancellationToken = cancel };
        try
        {
            Parallel.ForEach(units, options, unit =>
            {
                if (sources[unit[0]].FromFolder)
                {
                    var found = HeaderProbe.ProbeAll(unit.Select(i => sources[i].Path).ToList(), cancel);
                    for (int k = 0; k < unit.Length; k++) results[unit[k]] = found[k];
                    return;
                }
                try { results[unit[0]] = (MediaProbe.Probe(sources[unit[0]].Path, cancel), null); }
                catch (UserError e) { results[unit[0]] = (null, e); }
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
        return results;
    }
}
