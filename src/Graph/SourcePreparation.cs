using Microsoft.Extensions.Logging;
using VideoSsl.Decode;
using VideoSsl.Engine;

namespace VideoSsl.Graph;

/// <summary>A source that was found but cannot be used, and why.</summary>
public sealed record SkippedSource(string Path, string Reason);

/// <summary>The videos a run will read, each probed.</summary>
public sealed record PreparedSources(IReadOnlyList<(VideoSource Source, VideoInfo Info)> Videos, IReadOnlyList<SkippedSource> Skipped);

public static class SourcePreparation
{
    /// <summary>
    /// Resolves the paths and probes every video before anything starts. A file the user named is an error when it
    /// cannot be read; a file found inside a folder is reported and skipped, and the run goes on with the rest.
    /// </summary>
    public static PreparedSources Prepare(IReadOnlyList<string> paths, ILogger log, CancellationToken cancel)
    {
        var resolved = SourceResolver.Resolve(paths);
        var videos = new List<(VideoSource, VideoInfo)>();
        var skipped = new List<SkippedSource>();
        foreach (var source in resolved)
        {
            cancel.ThrowIfCancellationRequested();
            try
            {
                var info = MediaProbe.Probe(source.Path, cancel);
                videos.Add((source with { Id = videos.Count }, info));
            }
            catch (UserError e) when (source.FromFolder)
            {
                log.LogWarning("{Message}; skipped", e.Message);
                skipped.Add(new SkippedSource(source.Path, e.Message));
            }
        }
        if (videos.Count == 0)
            throw new UserError($"none of the {resolved.Count} video files under {string.Join(", ", paths.Select(p => $"'{p}'"))} can be read: {skipped[0].Reason}");
        return new PreparedSources(videos, skipped);
    }
}
