using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Decode.Sources;

/// <summary>
/// A folder: every video file below it (by extension), in the order of their paths, each file once however links
/// lead to it (<see cref="FolderWalk"/>). A bad file inside is reported and skipped; the files are <see cref="FileSource"/>s.
/// </summary>
public sealed class FolderSource : SourceKind
{
    public static readonly IReadOnlySet<string> VideoExtensions = new HashSet<string>(StringComparer.OrdinalIgnoreCase)
    {
        ".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".mts", ".m2ts", ".wmv", ".flv",
        ".ogv", ".3gp", ".y4m", ".mjpeg",
    };

    public override string Name => "folder";
    public override string Spelling => "FOLDER";
    public override bool Live => false;

    public override bool Claims(string spec) => Directory.Exists(spec);

    public override SpecSources Expand(string spec, CancellationToken cancel)
    {
        var walk = FolderWalk.VideoFiles(spec, VideoExtensions, cancel);
        if (walk.Files.Count == 0)
            throw new UserError(walk.Skipped.Count > 0
                ? $"source '{spec}': folder holds no readable video files ({walk.Skipped.Count} skipped, first: {walk.Skipped[0].Reason})"
                : $"source '{spec}': folder holds no video files ({string.Join(" ", VideoExtensions.Order())})");
        return new SpecSources(walk.Files.Select(f => new SpecSource(f.Path, f.Identity)).ToList(), walk.Skipped);
    }

    /// <summary>A folder's files are file sources; the folder itself is never opened by FFmpeg.</summary>
    public override InputPlan Plan(VideoSource source, DecodeSettings settings, double rate) => SourceKinds.File.Plan(source, settings, rate);
}
