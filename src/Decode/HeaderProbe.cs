using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Decode;

/// <summary>
/// Probes files found in a folder many to a process: FFmpeg opens up to <see cref="FilesPerProcess"/> inputs and
/// describes each (the header dump it prints before it would decode), which costs one process start for all of them
/// where FFprobe costs one a file (about 80 ms of CPU here, as much as decoding a 3 s clip). The dump is read
/// strictly: a file whose description lacks a field the pipeline needs, or has something it cannot carry (a cover
/// picture as its first video, a rotation), is probed again by FFprobe, and so is a file FFmpeg could not open, so
/// that its error reads as before; so is a file whose rates the dump does not give exactly (it prints two decimals:
/// whole and NTSC rates are exact). Durations come to 10 ms, and the container's rather than the video stream's,
/// which changes only the expected frame counts shown in progress and reports.
/// </summary>
public static partial class HeaderProbe
{
    public const int FilesPerProcess = 64;

    /// <summary>Each path's description, or the error that names why it cannot be read, in the order given.</summary>
    public static (VideoInfo? Info, UserError? Error)[] ProbeAll(IReadOnlyList<string> paths, CancellationToken cancel)
    {
        var results = new (VideoInfo?, UserError?)[paths.Count];
        var pending = new List<int>();
        for (int i = 0; i < paths.Count; i++)
        {
            try
            {
                MediaProbe.CheckFile(paths[i]);
                pending.Add(i);
            }
            catch (UserError e) { results[i] = (null, e); }
        }
        FfmpegTools.EnsureInstalled();
        for (int start = 0; start < pending.Count;)
        {
            var batch = pending.Skip(start).Take(FilesPerProcess).ToList();
            var described = Describe(batch.Select(i => paths[i]).ToList(), cancel);
            int taken = 0;
            foreach (int i in batch)
            {
                if (described.TryGetValue(taken, out var info))
                {
                    results[i] = (info, null);
                    taken++;
                    continue;
                }
                // FFmpeg stops at the first input it cannot open, or this one's description was not plain: FFprobe says
                // what it is; the batch goes on after it.
                try { results[i] = (MediaProbe.Probe(paths[i], cancel), null); }
                catch (UserError e) { results[i] = (null, e); }
                taken++;
                break;
            }
            start += taken;
        }
        return results;
    }

    /// <summary>The descriptions FFmpeg gave, by position in <paramref name="paths"/>; a missing one was not opened or not plain.</summary>
    private static Dictionary<int, VideoInfo> Describe(IReadOnlyList<string> paths, CancellationToken cancel)
    {
        var arguments = new List<string> { "-nostdin", "-hide_banner", "-loglevel", "info" };
        foreach (string path in paths)
        {
            arguments.AddRange(LocalFiles.InputOptions(path).Split(' ', StringSplitOptions.RemoveEmptyEntries));
            arguments.AddRange(["-i", "file:" + LiteralPaths.For(path)]);
        }
        var start = FfmpegTools.StartInfo(arguments);
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        using var process = Process.Start(start) ?? throw new IOException("ffmpeg did not start");
        using var stopping = cancel.Register(() => FfmpegTools.Kill(process));
        // With no output named FFmpeg describes every input it could open, then exits with an error: that is expected.
        string dump = process.StandardError.ReadToEnd();
        process.WaitForExit();
        cancel.ThrowIfCancellationRequested();
        return Parse(dump, paths);
    }

    /// <summary>Reads FFmpeg's description of its inputs; only lines at their exact place count (metadata values are indented deeper, so a file's tags cannot pose as another input).</summary>
    public static Dictionary<int, VideoInfo> Parse(string dump, IReadOnlyList<string> paths)
    {
        var found = new Dictionary<int, VideoInfo>();
        Description? current = null;
        void Close()
        {
            if (current?.ToInfo(paths[current.Input]) is { } info) found[current.Input] = info;
            current = null;
        }
        foreach (string line in dump.Split('\n').Select(l => l.TrimEnd('\r')))
        {
            if (InputLine().Match(line) is { Success: true } input)
            {
                Close();
                int index = int.Parse(input.Groups[1].Value, CultureInfo.InvariantCulture);
                if (index < paths.Count && !found.ContainsKey(index)) current = new Description(index, input.Groups[2].Value);
            }
            else if (current is null)
            {
                continue;
            }
            else if (DurationLine().Match(line) is { Success: true } duration)
            {
                current.Duration = ParseDuration(duration.Groups[1].Value);
                current.BitRate = duration.Groups[2].Value == "N/A" ? null : long.Parse(duration.Groups[3].Value, CultureInfo.InvariantCulture) * 1000;
            }
            else if (StreamLine().Match(line) is { Success: true } stream)
            {
                if (int.Parse(stream.Groups[1].Value, CultureInfo.InvariantCulture) != current.Input) current.Plain = false;
                else if (stream.Groups[2].Value == "Audio") current.HasAudio = true;
                else if (stream.Groups[2].Value == "Video" && !current.SawVideo) current.ReadVideo(stream.Groups[3].Value);
            }
            else if (line.Contains("displaymatrix", StringComparison.Ordinal) || line.StartsWith("Input #", StringComparison.Ordinal))
            {
                current.Plain = false;   // rotated, or an input line this reader does not understand: FFprobe says
            }
            else if (!line.StartsWith("  ", StringComparison.Ordinal))
            {
                Close();   // the dump of this input is over (an error line, or the end)
            }
        }
        Close();
        return found;
    }

    private static TimeSpan? ParseDuration(string text)
    {
        var parts = text.Split(':', '.');
        if (parts.Length != 4) return null;
        var n = parts.Select(p => long.Parse(p, CultureInfo.InvariantCulture)).ToArray();
        return TimeSpan.FromHours(n[0]) + TimeSpan.FromMinutes(n[1]) + TimeSpan.FromSeconds(n[2]) + TimeSpan.FromMilliseconds(n[3] * 10);
    }

    /// <summary>
    /// A rate as FFmpeg prints it ("24", "29.97", "90k"), when the print says it exactly: a whole number, or a
    /// two-decimal print of an NTSC rate (N x 1000/1001). Anything else (12.50 may be 12.5 or 12.4975) is null, and
    /// the file is left to FFprobe: a rate goes into FFmpeg's fps filter, and frames must not depend on how a file was probed.
    /// </summary>
    public static double? ParseRate(string number, bool thousands)
    {
        double value = double.Parse(number, CultureInfo.InvariantCulture) * (thousands ? 1000 : 1);
        if (!number.Contains('.')) return value;
        if (thousands) return null;
        double nominal = Math.Round(value * 1.001);
        return Math.Abs(nominal / 1.001 - value) <= 0.00501 && Math.Abs(nominal - value) > 0.001 ? nominal * 1000 / 1001 : null;
    }

    private sealed class Description(int input, string container)
    {
        public int Input => input;
        public TimeSpan? Duration { get; set; }
        public long? BitRate { get; set; }
        public bool HasAudio { get; set; }
        public bool Plain { get; set; } = true;
        public bool SawVideo { get; private set; }
        private string? _codec, _pixelFormat;
        private int _width, _height;
        private double _frameRate, _averageRate;

        /// <summary>"h264 (High) (avc1 / 0x31637661), yuv420p(tv, bt709, progressive), 320x240 [SAR 1:1 DAR 4:3], 731 kb/s, 24 fps, 24 tbr, 12288 tbn (default)".</summary>
        public void ReadVideo(string text)
        {
            SawVideo = true;
            if (text.Contains("(attached pic)", StringComparison.Ordinal)) Plain = false;
            var parts = TopLevelParts(text);
            _codec = parts[0].Split(' ')[0];
            foreach (string part in parts.Skip(1))
            {
                if (SizePart().Match(part) is { Success: true } size)
                {
                    _width = int.Parse(size.Groups[1].Value, CultureInfo.InvariantCulture);
                    _height = int.Parse(size.Groups[2].Value, CultureInfo.InvariantCulture);
                }
                else if (RatePart().Match(part) is { Success: true } rate)
                {
                    if (rate.Groups[3].Value == "tbn") continue;
                    if (ParseRate(rate.Groups[1].Value, rate.Groups[2].Value == "k") is not { } value) Plain = false;
                    else if (rate.Groups[3].Value == "fps") _averageRate = value;
                    else _frameRate = value;
                }
                else if (_pixelFormat is null && _width == 0)
                {
                    _pixelFormat = part.Split('(')[0];
                }
            }
        }

        public VideoInfo? ToInfo(string path)
        {
            if (!Plain || !SawVideo || Duration is not { } duration || duration <= TimeSpan.Zero || _width <= 0 || _height <= 0 || _frameRate <= 0) return null;
            return new VideoInfo(path, container, duration, _codec ?? "?", _width, _height, _pixelFormat ?? "?", _frameRate,
                _averageRate, 0, BitRate, HasAudio);
        }
    }

    /// <summary>Splits at commas outside parentheses and brackets.</summary>
    private static List<string> TopLevelParts(string text)
    {
        var parts = new List<string>();
        int depth = 0, from = 0;
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            if (c is '(' or '[') depth++;
            else if (c is ')' or ']') depth = Math.Max(0, depth - 1);
            else if (c == ',' && depth == 0)
            {
                parts.Add(text[from..i].Trim());
                from = i + 1;
            }
        }
        parts.Add(text[from..].Trim());
        return parts;
    }

    [GeneratedRegex(@"^Input #(\d+), (.+?), from '")]
    private static partial Regex InputLine();

    [GeneratedRegex(@"^  Duration: (N/A|\d+:\d\d:\d\d\.\d\d), start: [^,]*, bitrate: (N/A|(\d+) kb/s)")]
    private static partial Regex DurationLine();

    [GeneratedRegex(@"^  Stream #(\d+):\d+[^:]*: (\w+): (.*)$")]
    private static partial Regex StreamLine();

    [GeneratedRegex(@"^(\d+)x(\d+)\b")]
    private static partial Regex SizePart();

    [GeneratedRegex(@"^(\d+(?:\.\d+)?)(k?) (fps|tbr|tbn)$")]
    private static partial Regex RatePart();
}
