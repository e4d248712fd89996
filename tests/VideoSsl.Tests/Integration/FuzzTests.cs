using System.Buffers.Binary;
using System.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Messages;
using VideoSsl.Tests.Support;
using Xunit.Abstractions;

namespace VideoSsl.Tests.Integration;

/// <summary>
/// Damaged media, made from real clips: every file is probed and decoded the way a run would, in this process, each
/// under a time limit. Whatever FFmpeg makes of it, the result is a frame count or one clear error, never a hang, an
/// unexpected exception or an FFmpeg left running. The seed is printed; VIDEOSSL_FUZZ_SEED replays a run.
/// </summary>
[Trait("Category", "Integration")]
public class FuzzTests(ITestOutputHelper output)
{
    private const int PerKind = 13;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);

    [Fact]
    public void Damaged_files_are_probed_and_decoded_without_a_hang_an_unexpected_error_or_a_leftover_ffmpeg()
    {
        int seed = int.TryParse(Environment.GetEnvironmentVariable("VIDEOSSL_FUZZ_SEED"), out int given) ? given : Environment.TickCount & 0xFFFF;
        var random = new Random(seed);
        using var work = new TempFolder("fuzz");
        string[] originals =
        [
            Clips.Make(work["clip.mp4"], "testsrc2=size=96x64:rate=10", 2, "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 5"),
            Clips.Make(work["faststart.mp4"], "mandelbrot=size=96x64:rate=10", 2, "-c:v libx264 -preset ultrafast -pix_fmt yuv420p -g 5 -movflags +faststart"),
            Clips.Make(work["clip.mkv"], "testsrc2=size=96x64:rate=10", 2, "-c:v mpeg4 -g 5"),
            Clips.Make(work["clip.ts"], "testsrc2=size=96x64:rate=10", 2, "-c:v mpeg2video -g 5"),
        ];
        var mutations = new (string Name, Func<byte[], Random, byte[]> Mutate)[]
        {
            ("truncated", (b, r) => b[..r.Next(1, b.Length)]),
            ("bit-flipped", (b, r) => FlipBits(b, r, r.Next(1, 64))),
            ("header-mangled", (b, r) => Overwrite(b, r, 0, Math.Min(b.Length, 1024), r.Next(1, 32))),
            ("boxes-shuffled", ShuffleBoxes),
            ("box-sizes-broken", BreakBoxSizes),
        };
        var outcomes = new Dictionary<string, int>();
        int files = 0;
        foreach (string original in originals)
        {
            byte[] bytes = File.ReadAllBytes(original);
            foreach (var (name, mutate) in mutations)
            {
                for (int i = 0; i < PerKind; i++)
                {
                    string path = work[$"{name}-{i:D2}{Path.GetExtension(original)}"];
                    File.WriteAllBytes(path, mutate(bytes, random));
                    string outcome = ProbeAndDecode(path, seed);
                    outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
                    files++;
                }
            }
        }
        Assert.Empty(VideoSslProcess.LeftoverFfmpeg(Path.GetFileName(work.Path)));
        string report = $"fuzz: seed {seed}, {files} damaged files: " + string.Join(", ", outcomes.OrderByDescending(o => o.Value).Select(o => $"{o.Value} {o.Key}"));
        output.WriteLine(report);
        Console.Error.WriteLine(report);
        Assert.True(files >= 200, report);
    }

    /// <summary>What happened to one file: "decoded", "partial" or "refused"; anything else fails the test with the seed.</summary>
    private static string ProbeAndDecode(string path, int seed)
    {
        using var limit = new CancellationTokenSource(Limit);
        var clock = Stopwatch.StartNew();
        VideoInfo info;
        try
        {
            info = MediaProbe.Probe(path, limit.Token);
        }
        catch (UserError)
        {
            return "refused by the probe";
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"probing {path} took over {Limit.TotalSeconds} s (seed {seed})");
            throw;
        }
        var settings = new DecodeSettings { Size = 16, Fps = 5 };
        var schedule = DecodeSchedule.Files([(new VideoSource(0, path, false), info)], 1, settings);
        var stage = new DecodeStage(schedule, [], settings, DecodeResumePoint.FromStart(1), null, NullLogger.Instance);
        DecodeOutcome? outcome = null;
        stage.Start(limit.Token);
        try
        {
            while (stage.Output.TryReadBlocking(out var message, limit.Token))
            {
                message.Frame?.Release();
                if (message.Outcome is { } ended) outcome = ended;
            }
            stage.WaitAndRethrow();
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"decoding {path} took over {Limit.TotalSeconds} s (seed {seed}; {clock.Elapsed.TotalSeconds:0.0} s with the probe)");
        }
        catch (UserError)
        {
            return "refused by the decoder";
        }
        Assert.NotNull(outcome);
        return outcome.Error is not null ? "decoded with an FFmpeg error" : outcome.LooksPartial ? "decoded in part" : "decoded";
    }

    private static byte[] FlipBits(byte[] original, Random random, int count)
    {
        byte[] bytes = [.. original];
        for (int i = 0; i < count; i++) bytes[random.Next(bytes.Length)] ^= (byte)(1 << random.Next(8));
        return bytes;
    }

    private static byte[] Overwrite(byte[] original, Random random, int from, int to, int count)
    {
        byte[] bytes = [.. original];
        for (int i = 0; i < count; i++) bytes[random.Next(from, to)] = (byte)random.Next(256);
        return bytes;
    }

    /// <summary>The top-level boxes of an MP4 (ftyp, moov, mdat, ...) in another order; other containers: their 4 KiB blocks.</summary>
    private static byte[] ShuffleBoxes(byte[] original, Random random)
    {
        var parts = TopLevelBoxes(original) is { Count: > 1 } boxes ? boxes : original.Chunk(4096).ToList();
        return [.. parts.OrderBy(_ => random.Next()).SelectMany(p => p)];
    }

    /// <summary>An MP4 box's size field set to something else: 0 (to the end), 1 (a 64-bit size follows), huge, or slightly off.</summary>
    private static byte[] BreakBoxSizes(byte[] original, Random random)
    {
        byte[] bytes = [.. original];
        var offsets = BoxOffsets(bytes);
        if (offsets.Count == 0) return Overwrite(original, random, 0, Math.Min(bytes.Length, 4096), 8);
        int at = offsets[random.Next(offsets.Count)];
        uint size = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at));
        uint broken = random.Next(4) switch { 0 => 0, 1 => 1, 2 => uint.MaxValue - (uint)random.Next(16), _ => (uint)(size + random.Next(-16, 17)) };
        BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(at), broken);
        return bytes;
    }

    private static List<byte[]> TopLevelBoxes(byte[] bytes)
    {
        var boxes = new List<byte[]>();
        int at = 0;
        while (at + 8 <= bytes.Length)
        {
            long size = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at));
            if (size < 8 || at + size > bytes.Length || !IsBoxType(bytes.AsSpan(at + 4, 4))) return [];
            boxes.Add(bytes[at..(at + (int)size)]);
            at += (int)size;
        }
        return at == bytes.Length ? boxes : [];
    }

    /// <summary>Where boxes start: the top level and the children of moov, trak, mdia, minf and stbl.</summary>
    private static List<int> BoxOffsets(byte[] bytes)
    {
        var offsets = new List<int>();
        void Walk(int from, int to)
        {
            int at = from;
            while (at + 8 <= to)
            {
                long size = BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(at));
                if (size < 8 || at + size > to || !IsBoxType(bytes.AsSpan(at + 4, 4))) return;
                offsets.Add(at);
                string type = System.Text.Encoding.ASCII.GetString(bytes, at + 4, 4);
                if (type is "moov" or "trak" or "mdia" or "minf" or "stbl") Walk(at + 8, at + (int)size);
                at += (int)size;
            }
        }
        Walk(0, bytes.Length);
        return offsets;
    }

    private static bool IsBoxType(ReadOnlySpan<byte> type)
    {
        foreach (byte b in type) if (b is not (>= (byte)'a' and <= (byte)'z' or >= (byte)'0' and <= (byte)'9')) return false;
        return true;
    }
}
