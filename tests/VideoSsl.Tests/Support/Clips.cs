using System.Diagnostics;

namespace VideoSsl.Tests.Support;

/// <summary>
/// Test videos made on the spot with FFmpeg's synthetic sources (no network, nothing checked in), and the bad
/// inputs a user might hand over by mistake.
/// </summary>
public static class Clips
{
    /// <summary>Synthetic scenes that change steadily over time, so nearby frames look alike and distant ones do not.</summary>
    public static readonly IReadOnlyDictionary<string, string> Scenes = new Dictionary<string, string>
    {
        ["testsrc"] = "testsrc2=size=192x144:rate=25",
        ["mandelbrot"] = "mandelbrot=size=192x144:rate=25",
        ["life"] = "life=size=192x144:rate=25:mold=10:ratio=0.1:life_color=#00ff00",
    };

    public static string Make(string path, string scene, double seconds, string codecArgs = "-c:v libx264 -preset ultrafast -pix_fmt yuv420p")
    {
        Ffmpeg($"-f lavfi -i {Scenes.GetValueOrDefault(scene, scene)} -t {seconds.ToString(System.Globalization.CultureInfo.InvariantCulture)} {codecArgs} \"{path}\"");
        return path;
    }

    public static string TextFile(string path)
    {
        File.WriteAllText(path, "this is not a video, only a text file with a video's name\n");
        return path;
    }

    /// <summary>The first part of an mp4 whose index (moov) sits at the end: FFmpeg cannot read it at all.</summary>
    public static string Truncated(string path, string from)
    {
        byte[] whole = File.ReadAllBytes(from);
        File.WriteAllBytes(path, whole[..(whole.Length / 2)]);
        return path;
    }

    public static string AudioOnly(string path)
    {
        Ffmpeg($"-f lavfi -i sine=frequency=440:sample_rate=44100 -t 2 -c:a aac \"{path}\"");
        return path;
    }

    /// <summary>Frames FFprobe counts by decoding the whole stream.</summary>
    public static long CountFrames(string path)
    {
        string output = Run("ffprobe", $"-v error -select_streams v:0 -count_frames -show_entries stream=nb_read_frames -of csv=p=0 \"{path}\"");
        return long.Parse(output.Trim().TrimEnd(','));
    }

    private static void Ffmpeg(string arguments) => Run("ffmpeg", "-v error -y -nostdin " + arguments);

    private static string Run(string tool, string arguments)
    {
        var start = new ProcessStartInfo(tool, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(120_000)) { process.Kill(true); throw new TimeoutException($"{tool} {arguments}"); }
        if (process.ExitCode != 0) throw new InvalidOperationException($"{tool} {arguments} failed: {stderr}");
        return stdout.Result;
    }
}
