using Microsoft.Extensions.Logging.Abstractions;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Messages;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Integration;

/// <summary>Short files that share one FFmpeg process, and the files probed many to a process.</summary>
[Trait("Category", "Integration")]
public sealed class ShortFileBatchTests : IDisposable
{
    private const int Size = 24;
    private readonly TempFolder _folder = new("batch");

    public void Dispose() => _folder.Dispose();

    /// <summary>Short files unlike each other: rates 25, 12.5 and 30000/1001 frames/s, three sizes, VP8 and H.264, one with audio, one cut short, one whose size changes part-way.</summary>
    private string[] UnlikeFiles()
    {
        string withAudio = _folder["ntsc-with-audio.mp4"];
        Tool.Output("ffmpeg", "-v", "error", "-y", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=176x144:rate=30000/1001", "-f", "lavfi", "-i", "sine",
            "-t", "1.2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", withAudio);
        return
        [
            Clips.Make(_folder["testsrc.mp4"], "testsrc", 2),
            Clips.Make(_folder["slow.webm"], "testsrc2=size=160x120:rate=12.5", 1.5, "-c:v libvpx -b:v 300k"),
            withAudio,
            Clips.Make(_folder["mandelbrot.mp4"], "mandelbrot", 1),
            Clips.TruncatedFaststart(_folder["half.mp4"], _folder["whole.mp4"]),   // decodes half its frames and exits 0
            SizeChangesPartWay(),
        ];
    }

    /// <summary>Two MPEG-TS recordings of different frame sizes joined byte for byte, as recorders and cat make them.</summary>
    private string SizeChangesPartWay()
    {
        string first = _folder["first.ts"], second = _folder["second.ts"], joined = _folder["size-changes.ts"];
        Tool.Output("ffmpeg", "-v", "error", "-y", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast", "-f", "mpegts", first);
        Tool.Output("ffmpeg", "-v", "error", "-y", "-nostdin", "-f", "lavfi", "-i", "mandelbrot=size=192x144:rate=25", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast",
            "-output_ts_offset", "1", "-f", "mpegts", second);
        File.WriteAllBytes(joined, [.. File.ReadAllBytes(first), .. File.ReadAllBytes(second)]);
        return joined;
    }

    /// <param name="probed">The file the probe saw, when <paramref name="path"/> has changed since (it cannot be probed now).</param>
    private static (DecodeWorkItem Item, InputPlan Plan) Work(int id, string path, string? probed = null)
    {
        var source = new VideoSource(id, path, fromFolder: true);
        var settings = new DecodeSettings { Size = Size };
        var info = MediaProbe.Probe(probed ?? path);
        var item = new DecodeWorkItem(id, source, 0, info, FfmpegInputs.Rate(source, info, settings));
        return (item, FfmpegInputs.For(source, settings, item.Rate));
    }

    private sealed record Decoded(List<(long Index, double Pts, byte[] Pixels)> Frames, DecodeOutcome Outcome);

    private static Decoded ReadAll(IFileFrames reader)
    {
        var frames = new List<(long, double, byte[])>();
        while (reader.Frames.TryReadBlocking(out var frame, CancellationToken.None))
        {
            frames.Add((frame.Index, frame.Pts, frame.Pixels.ToArray()));
            frame.Release();
        }
        return new Decoded(frames, reader.Outcome.GetAwaiter().GetResult());
    }

    private static Decoded Alone((DecodeWorkItem Item, InputPlan Plan) work)
    {
        using var reader = FfmpegFrameReader.Start(work.Item, 0, Size, work.Plan, new ReadOptions(), CancellationToken.None);
        return ReadAll(reader);
    }

    private static void AssertSameDecode(Decoded alone, Decoded batched, string path)
    {
        Assert.True(alone.Frames.Count == batched.Frames.Count, $"{Path.GetFileName(path)}: {batched.Frames.Count} frames in the batch, {alone.Frames.Count} alone");
        for (int i = 0; i < alone.Frames.Count; i++)
        {
            Assert.Equal(alone.Frames[i].Index, batched.Frames[i].Index);
            Assert.Equal(alone.Frames[i].Pts, batched.Frames[i].Pts, 12);
            Assert.True(alone.Frames[i].Pixels.AsSpan().SequenceEqual(batched.Frames[i].Pixels), $"{Path.GetFileName(path)}: frame {i} differs");
        }
        Assert.Equal(alone.Outcome, batched.Outcome);
    }

    [Fact]
    public void Files_that_share_a_process_get_the_frames_each_would_get_from_its_own()
    {
        var work = UnlikeFiles().Select((p, i) => Work(i, p)).ToList();
        var batch = ShortFileBatch.Start(work, 0, Size, null, CancellationToken.None);
        var batched = batch.Files.Select(ReadAll).ToList();

        Assert.Equal(1, batch.ProcessesStarted);
        for (int i = 0; i < work.Count; i++)
        {
            Assert.NotEmpty(batched[i].Frames);
            AssertSameDecode(Alone(work[i]), batched[i], work[i].Item.Source.Path);
        }
        // Not one rate for all: the 12.5 frames/s file keeps its own clock.
        Assert.Equal(1 / 12.5, batched[1].Frames[1].Pts, 9);
    }

    [Fact]
    public void A_file_that_breaks_its_batch_is_reported_as_if_alone_and_the_others_still_decode()
    {
        string good = Clips.Make(_folder["good.mp4"], "testsrc", 1);
        string[] paths =
        [
            good,
            Clips.Make(_folder["second.mp4"], "testsrc", 2),
            Clips.Truncated(_folder["no-index.mp4"], Clips.Make(_folder["long.mp4"], "testsrc", 3)),   // FFmpeg cannot open it: the batch fails
            Clips.Make(_folder["after.mp4"], "mandelbrot", 1),
        ];
        // The broken file was probed before it broke (a file can change between the probe and the decode).
        var work = paths.Select((p, i) => Work(i, p, probed: i == 2 ? good : null)).ToList();

        var batch = ShortFileBatch.Start(work, 0, Size, null, CancellationToken.None);
        var batched = batch.Files.Select(ReadAll).ToList();

        Assert.True(batch.ProcessesStarted > 1, "the failed batch left its files to processes of their own");
        for (int i = 0; i < work.Count; i++) AssertSameDecode(Alone(work[i]), batched[i], paths[i]);
        Assert.NotNull(batched[2].Outcome.Error);
        Assert.Null(batched[3].Outcome.Error);
        Assert.Equal(Clips.CountFrames(paths[3]), batched[3].Frames.Count);
    }

    [Fact]
    public async Task Letting_go_of_a_batch_before_its_end_stops_its_ffmpeg()
    {
        var work = new[] { "testsrc", "mandelbrot", "testsrc" }.Select((scene, i) => Work(i, Clips.Make(_folder[$"clip{i}.mp4"], scene, 20))).ToList();
        var batch = ShortFileBatch.Start(work, 0, Size, null, CancellationToken.None);
        var first = batch.Files[0];
        for (int i = 0; i < 3; i++)
        {
            Assert.True(first.Frames.TryReadBlocking(out var frame, CancellationToken.None));
            frame.Release();
        }
        Assert.NotEmpty(VideoSslProcess.LeftoverFfmpeg(_folder.Path));

        first.Dispose();

        Assert.True(first.Outcome.IsCompleted);
        var outcomes = await Task.WhenAll(batch.Files.Select(f => f.Outcome)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.All(outcomes, o => Assert.True(o.Stopped));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (VideoSslProcess.LeftoverFfmpeg(_folder.Path).Count > 0 && DateTime.UtcNow < deadline) Thread.Sleep(50);
        Assert.Empty(VideoSslProcess.LeftoverFfmpeg(_folder.Path));
    }

    [Fact]
    public void A_decode_stage_over_many_short_files_delivers_each_file_whole_and_in_order()
    {
        // More files than one batch holds, so that the second batch starts while the first is read.
        int count = ShortFileBatch.MaxFiles + 4;
        var paths = Enumerable.Range(0, count).Select(i => Clips.Make(_folder[$"s{i:00}.mp4"], i % 2 == 0 ? "testsrc" : "mandelbrot", 0.4 + 0.04 * i)).ToList();
        var files = paths.Select((p, i) => (new VideoSource(i, p, fromFolder: true), MediaProbe.Probe(p))).ToList();
        var settings = new DecodeSettings { Size = Size, ParallelSources = 1 };
        var schedule = DecodeSchedule.Files(files, epochs: 1, settings);
        var stage = new DecodeStage(schedule, [], settings, DecodeResumePoint.FromStart(1), null, NullLogger.Instance);
        var frames = new List<(int Source, long Index, byte[] Pixels)>();
        var ended = new List<DecodeOutcome>();
        stage.Start(CancellationToken.None);
        while (stage.Output.TryReadBlocking(out var message, CancellationToken.None))
        {
            if (message.Frame is { } frame)
            {
                frames.Add((message.Item.Source.Id, frame.Index, frame.Pixels.ToArray()));
                frame.Release();
            }
            if (message.Outcome is { } outcome) ended.Add(outcome);
        }
        stage.WaitAndRethrow();

        Assert.Equal(Enumerable.Range(0, count), frames.Select(f => f.Source).Distinct());
        Assert.True(frames.Zip(frames.Skip(1)).All(p => p.First.Source <= p.Second.Source), "files one after another, never interleaved");
        Assert.All(ended, o => Assert.Null(o.Error));
        for (int i = 0; i < count; i += 7)
        {
            var alone = Alone((schedule[i], FfmpegInputs.For(schedule[i].Source, settings, schedule[i].Rate)));
            var mine = frames.Where(f => f.Source == i).ToList();
            Assert.Equal(alone.Frames.Select(f => f.Index), mine.Select(f => f.Index));
            Assert.True(alone.Frames.Zip(mine).All(p => p.First.Pixels.AsSpan().SequenceEqual(p.Second.Pixels)), $"file {i}: other pixels");
        }
    }

    [Fact]
    public void Probing_many_files_in_one_process_reads_what_ffprobe_reads()
    {
        string rotated = Clips.WithRotation90(Clips.Make(_folder["rotated.mp4"], "testsrc", 1));
        string[] paths =
        [
            .. UnlikeFiles(),
            rotated,
            Clips.AudioOnly(_folder["audio.m4a"]),
            Clips.TextFile(_folder["notes.mp4"]),
            Clips.Make(_folder["last.mkv"], "testsrc2=size=100x60:rate=24000/1001", 1, "-c:v mpeg4"),
            _folder["missing.mp4"],
        ];
        var batched = HeaderProbe.ProbeAll(paths, CancellationToken.None);

        for (int i = 0; i < paths.Length; i++)
        {
            string name = Path.GetFileName(paths[i]);
            VideoInfo? alone = null;
            string? error = null;
            try { alone = MediaProbe.Probe(paths[i]); }
            catch (UserError e) { error = e.Message; }
            if (alone is null)
            {
                Assert.True(batched[i].Error?.Message == error, $"{name}: '{batched[i].Error?.Message}' against FFprobe's '{error}'");
                continue;
            }
            var info = batched[i].Info;
            Assert.True(info is not null, $"{name}: {batched[i].Error?.Message}");
            Assert.Equal((alone.Container, alone.Codec, alone.Width, alone.Height, alone.PixelFormat, alone.HasAudio, alone.Rotation),
                (info.Container, info.Codec, info.Width, info.Height, info.PixelFormat, info.HasAudio, info.Rotation));
            Assert.Equal(alone.FrameRate, info.FrameRate, 6);
            Assert.Equal(alone.DecodeRate(null), info.DecodeRate(null), 6);
            Assert.InRange((info.Duration - alone.Duration).Duration(), TimeSpan.Zero, TimeSpan.FromMilliseconds(60));
        }
        Assert.NotEqual(0, batched[Array.IndexOf(paths, rotated)].Info!.Rotation);   // left to FFprobe
    }

    [Fact]
    public void A_files_tags_cannot_pose_as_another_files_description()
    {
        string forged = _folder["forged.mp4"];
        Tool.Output("ffmpeg", "-v", "error", "-y", "-nostdin", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10", "-t", "1", "-c:v", "libx264", "-preset", "ultrafast",
            "-metadata", "title=x\nInput #1, mov,mp4, from 'y':\n  Duration: 09:00:00.00, start: 0.000000, bitrate: 1 kb/s\n  Stream #1:0: Video: h264, yuv420p, 9999x9999, 1 fps, 1 tbr",
            "-metadata", "comment=\n  Duration: 05:00:00.00, start: 0.000000, bitrate: 1 kb/s", forged);
        string next = Clips.Make(_folder["next.mp4"], "testsrc", 1);

        var batched = HeaderProbe.ProbeAll([forged, next], CancellationToken.None);

        Assert.Equal((64, 48), (batched[0].Info!.Width, batched[0].Info!.Height));
        Assert.InRange(batched[0].Info!.Duration.TotalSeconds, 0.9, 1.1);
        Assert.Equal((192, 144), (batched[1].Info!.Width, batched[1].Info!.Height));
        Assert.InRange(batched[1].Info!.Duration.TotalSeconds, 0.9, 1.1);
    }

    [Theory]
    [InlineData("24", false, 24.0)]
    [InlineData("29.97", false, 30000 / 1001.0)]
    [InlineData("23.98", false, 24000 / 1001.0)]
    [InlineData("59.94", false, 60000 / 1001.0)]
    [InlineData("14.99", false, 15000 / 1001.0)]
    [InlineData("90", true, 90000.0)]
    [InlineData("12.50", false, null)]
    [InlineData("7.33", false, null)]
    [InlineData("1.5", true, null)]
    public void Rates_as_ffmpeg_prints_them_are_read_back_exactly_or_not_at_all(string printed, bool thousands, double? rate)
    {
        var read = HeaderProbe.ParseRate(printed, thousands);
        Assert.Equal(rate.HasValue, read.HasValue);
        if (rate is { } expected) Assert.Equal(expected, read!.Value, 12);
    }
}
