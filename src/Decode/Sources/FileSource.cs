using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Decode.Sources;

/// <summary>
/// A video file named outright, whatever its extension; a local HLS playlist (<c>.m3u8</c>) only when all it lists
/// lies under its folder (<see cref="LocalPlaylist"/>). Files are back-pressured and probed before the run; FFmpeg reads
/// them through the file protocol alone and with demuxers that open nothing else (<see cref="LocalFiles"/>).
/// </summary>
public sealed class FileSource : SourceKind
{
    public override string Name => VideoSource.FileKind;
    public override string Spelling => "FILE";
    public override bool Live => false;

    public override bool Claims(string spec) => System.IO.File.Exists(spec);

    public override SpecSources Expand(string spec, CancellationToken cancel)
    {
        // A file named on the command line must be a regular file: a FIFO or a device would block FFprobe or never end.
        if (FileStatus.Of(spec) is { Kind: not FileKind.Regular } status)
        {
            string hint = status.Kind == FileKind.CharacterDevice && spec.StartsWith("/dev/video", StringComparison.Ordinal) ? $"; for a camera use --source webcam:{spec}" : "";
            throw new UserError($"source '{spec}': not a regular file ({FileStatus.Describe(status.Kind)}){hint}");
        }
        if (LocalPlaylist.IsPlaylistName(spec)) LocalPlaylist.Check(spec);
        return new SpecSources([new SpecSource(spec, FolderWalk.IdentityOf(spec))], []);
    }

    /// <summary>
    /// A file whose frame size changes part-way (joined MPEG-TS recordings do) keeps its filter graph: the scale
    /// filter follows the new size itself. Rebuilding the graph, FFmpeg's default, would in a batch of short files
    /// (<see cref="ShortFileBatch"/>) rebuild every file's chain and the concat behind them, and lose frames.
    /// A window (<see cref="VideoSource.Window"/>) is an input seek and duration, so FFmpeg decodes only that stretch
    /// and times its frames from the window's start.
    /// </summary>
    public override InputPlan Plan(VideoSource source, DecodeSettings settings, double rate) =>
        new("file:" + LiteralPaths.For(source.Path), LocalFiles.InputOptions(source.Path) + " -reinit_filter 0" + (source.Realtime ? " -re" : "") + WindowOptions(source.Window));

    private static string WindowOptions(ClipWindow? window) => window is null ? ""
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $" -ss {window.Start:0.###} -t {window.Length:0.###}");

    public override double Rate(VideoSource source, VideoInfo? info, DecodeSettings settings) =>
        info?.DecodeRate(settings.Fps) ?? settings.Fps ?? DecodeSettings.DefaultLiveRate;
}
