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
        Ffmpeg(["-f", "lavfi", "-i", Scenes.GetValueOrDefault(scene, scene), "-t", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
            .. codecArgs.Split(' ', StringSplitOptions.RemoveEmptyEntries), path]);
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

    /// <summary>Random bytes with a video's name.</summary>
    public static string RandomBytes(string path)
    {
        var bytes = new byte[64 * 1024];
        new Random(7).NextBytes(bytes);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>
    /// The first half of an mp4 whose index sits at the front (faststart): FFmpeg decodes about half the frames and
    /// exits 0, while FFprobe still reports the full duration.
    /// </summary>
    public static string TruncatedFaststart(string path, string scratch)
    {
        Make(scratch, "testsrc", 20, "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -movflags +faststart");
        byte[] whole = File.ReadAllBytes(scratch);
        File.WriteAllBytes(path, whole[..(whole.Length / 2)]);
        return path;
    }

    /// <summary>
    /// Marks an mp4 as recorded rotated by 90 degrees (as phones do) by writing a rotation into its track header's
    /// display matrix; FFmpeg's autorotate then turns the frames upright.
    /// </summary>
    public static string WithRotation90(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        int tkhd = System.Text.Encoding.ASCII.GetString(bytes).IndexOf("tkhd", StringComparison.Ordinal);
        int version = bytes[tkhd + 4];
        // version/flags, creation and modification times, track id, reserved, duration, reserved[2], layer, group, volume, reserved
        int matrix = tkhd + 4 + 4 + (version == 0 ? 8 : 16) + 4 + 4 + (version == 0 ? 4 : 8) + 8 + 2 + 2 + 2 + 2;
        int[] rotated = [0, 0x00010000, 0, -0x00010000, 0, 0, 0, 0, 0x40000000];
        for (int i = 0; i < 9; i++)
            System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(matrix + 4 * i), rotated[i]);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    public static string AudioOnly(string path)
    {
        Ffmpeg(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-t", "2", "-c:a", "aac", path]);
        return path;
    }

    /// <summary>Frames FFprobe counts by decoding the whole stream.</summary>
    public static long CountFrames(string path)
    {
        string output = Tool.Output("ffprobe", "-v", "error", "-select_streams", "v:0", "-count_frames", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", path);
        // MPEG-TS lists the stream once more under its program: the first line is the stream's count.
        return long.Parse(output.Split('\n', StringSplitOptions.RemoveEmptyEntries)[0].Trim().TrimEnd(','));
    }

    private static void Ffmpeg(string[] arguments) => Tool.Output("ffmpeg", ["-v", "error", "-y", "-nostdin", .. arguments]);
}
