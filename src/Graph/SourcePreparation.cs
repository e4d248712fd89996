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
    /// split after the walk, so that each file is probed and read by one process only; a share may be empty.</param>
    public static PreparedSources Prepare(IReadOnlyList<string> specs, bool realtime, ILogger log, CancellationToken cancel, WorkShare? share = null)
    {
        share ??= WorkShare.Whole;
        var resolved = SourceResolver.Resolve(specs, realtime, cancel);
        var files = new List<(VideoSource, VideoInfo)>();
        var live = new List<VideoSource>();
        var skipped = new List<SkippedSource>();
        foreach (var entry in resolved.Skipped)
        {
            if (share.Index == 0) log.LogWarning("{Message}; skipped", entry.Reason);   // every share walks the same folder: one says so
            skipped.Add(entry);
        }
        var sources = resolved.Sources;
        if (!share.IsWhole)
        {
            if (sources.FirstOrDefault(s => !s.IsFile) is { } liveSource)
                throw new UserError($"source '{liveSource.Path}': a live source cannot be split into shares; name files or folders");
            sources = sources.Take(share.Of(sources.Count)).ToList();
        }
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
        if (files.Count + live.Count == 0 && share.IsWhole)
            throw new UserError($"none of the {resolved.Sources.Count + resolved.Skipped.Count} video files under {string.Join(", ", specs.Select(p => $"'{p}'"))} can be read: {skipped[0].Reason}");
        return new PreparedSources(files, live, skipped);
    }

    /// <summary>Probes at once, at most this many: FFprobe's time is mostly starting a process and opening a container, not CPU.</summary>
    private static int ProbesAtOnce => Math.Clamp(2 * Environment.ProcessorCount, 2, 8);

    /// <summary>
    /// Every file's probe, several at a time (a folder of short clips spent most of its start probing one after
    /// another), each result kept at its file's place so that what follows is in the walk's order whatever finished first.
    /// </summary>
    private static (VideoInfo? Info, UserError? Error)[] ProbeAll(IReadOnlyList<VideoSource> sources, CancellationToken cancel)
    {
        var results = new (VideoInfo?, UserError?)[sources.Count];
        var options = new ParallelOptions { MaxDegreeOfParallelism = ProbesAtOnce, CancellationToken = cancel };
        try
        {
            Parallel.For(0, sources.Count, options, i =>
            {
                if (!sources[i].IsFile) return;
                try { results[i] = (MediaProbe.Probe(sources[i].Path, cancel), null); }
                catch (UserError e) { results[i] = (null, e); }
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
        return results;
    }
}
