using System.Text.RegularExpressions;
using FFMpegCore;
using FFMpegCore.Exceptions;
using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Decode;

/// <summary>Runs FFprobe on a source and turns its failures into one line that names the file and the cause.</summary>
public static partial class MediaProbe
{
    public static VideoInfo Probe(string path, CancellationToken cancel = default)
    {
        CheckFile(path);
        FfmpegTools.EnsureInstalled();

        IMediaAnalysis analysis;
        try
        {
            analysis = FFProbe.AnalyseAsync(LiteralPaths.For(path), customArguments: LocalFiles.InputOptions(path), cancellationToken: cancel)
                .GetAwaiter().GetResult();
        }
        catch (FFProbeProcessException e) when (NotOnWhitelist().Match(e.Message) is { Success: true } refused)
        {
            throw new UserError($"source '{path}': its content is read by FFmpeg's '{refused.Groups[1].Value}' demuxer, which opens further inputs " +
                "(a playlist or list of files); a local file is read as a playlist only when it is named .m3u8");
        }
        catch (FFProbeProcessException e)
        {
            throw new UserError($"source '{path}': not a readable video ({UsefulFfmpegError(e.Message, LiteralPaths.For(path))})");
        }
        catch (FFMpegException e)
        {
            throw new UserError($"source '{path}': FFprobe failed ({UsefulFfmpegError(e.Message, LiteralPaths.For(path))})");
        }

        var video = analysis.PrimaryVideoStream;
        if (video is null)
        {
            string what = analysis.AudioStreams.Count > 0 ? "it holds audio only" : "it holds no video stream";
            throw new UserError($"source '{path}': no video to learn from ({what})");
        }
        if (video.Width is not > 0 || video.Height is not > 0)
            throw new UserError($"source '{path}': video stream has no frame size ({video.CodecName})");

        TimeSpan duration = video.Duration > TimeSpan.Zero ? video.Duration : analysis.Format.Duration;
        return new VideoInfo(
            path, analysis.Format.FormatName ?? "?", duration, video.CodecName ?? "?", video.Width.Value, video.Height.Value,
            video.PixelFormat ?? "?", video.RealFrameRate, video.AverageFrameRate, video.Rotation, analysis.Format.BitRate,
            analysis.AudioStreams.Count > 0);
    }

    /// <summary>What is wrong with a path before any FFmpeg reads it: missing, not a regular file (a FIFO would block), empty.</summary>
    public static void CheckFile(string path)
    {
        if (!File.Exists(path)) throw new UserError($"source '{path}': no such file");
        if (FileStatus.Of(path) is { Kind: not FileKind.Regular } status)
            throw new UserError($"source '{path}': not a regular file ({FileStatus.Describe(status.Kind)})");
        if (new FileInfo(path).Length == 0) throw new UserError($"source '{path}': file is empty");
    }

    /// <summary>
    /// FFmpeg's messages come wrapped in a banner and prefixed with "[demuxer @ 0x...]" and the input path; keep
    /// the distinct causes, in order, without either.
    /// </summary>
    public static string UsefulFfmpegError(string text, string path)
    {
        string body = text;
        int open = body.IndexOf(" - ", StringComparison.Ordinal);
        if (body.StartsWith("ffprobe exited", StringComparison.Ordinal) && open > 0)
            body = body[(open + 3)..].TrimEnd(')', ' ', '\n');
        var causes = new List<string>();
        foreach (string rawLine in body.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            foreach (string part in rawLine.Split(path + ":", StringSplitOptions.TrimEntries))
            {
                string cause = DemuxerPrefix().Replace(part, "").Trim().TrimEnd('.');
                cause = cause.Replace("file:" + path, "input").Replace(path, "input");
                // FFmpeg often repeats a cause on the input's own line ("...failed: Connection refused", then "Connection refused").
                if (cause.Length > 0 && !causes.Any(c => c.EndsWith(cause, StringComparison.Ordinal))) causes.Add(cause);
            }
        }
        return causes.Count == 0 ? "no details from FFmpeg" : string.Join("; ", causes);
    }

    [GeneratedRegex(@"\[(\w+) @ 0x[0-9a-f]+\] Format not on whitelist")]
    private static partial Regex NotOnWhitelist();

    [GeneratedRegex(@"\[[^\]]*@ 0x[0-9a-f]+\]\s*")]
    private static partial Regex DemuxerPrefix();
}
