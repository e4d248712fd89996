using VideoSsl.Decode.Sources;
using VideoSsl.Messages;

namespace VideoSsl.Decode;

/// <summary>Turns what a user wrote after --source into sources, in a stable order, each kind by its own rules (<see cref="SourceKinds"/>).</summary>
public static class SourceResolver
{
    /// <summary>
    /// Files are taken as given (whatever their extension); folders contribute every video file below them,
    /// sorted by relative path so that a run is repeatable (see <see cref="FolderWalk"/>). A source reached twice, by
    /// any path or link, counts once. <paramref name="realtime"/> makes file sources live (paced at their own frame
    /// rate, dropping frames the learner cannot take).
    /// </summary>
    public static ResolvedSources Resolve(IEnumerable<string> specs, bool realtime = false, CancellationToken cancel = default)
    {
        var seen = new HashSet<object>();
        var result = new List<VideoSource>();
        var skipped = new List<SkippedSource>();
        foreach (string spec in specs)
        {
            cancel.ThrowIfCancellationRequested();
            var kind = SourceKinds.For(spec);
            var expanded = kind.Expand(spec, cancel);
            skipped.AddRange(expanded.Skipped);
            bool fromFolder = kind is FolderSource;
            foreach (var source in expanded.Sources)
            {
                if (!seen.Add(source.Identity)) continue;
                bool file = !kind.Live;
                result.Add(file
                    ? new VideoSource(result.Count, source.Path, fromFolder, realtime)
                    : new VideoSource(result.Count, source.Path, false, kind.Name, LiveKind: true));
            }
        }
        if (result.Count == 0) throw new Engine.UserError("no source given: pass --source FILE_OR_FOLDER");
        return new ResolvedSources(result, skipped);
    }
}
