using Microsoft.Extensions.Logging.Abstractions;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Messages;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Integration;

[Trait("Category", "Integration")]
public class DecodeStageTests(ClipSet clips) : IClassFixture<ClipSet>
{
    private static IReadOnlyList<DecodeWorkItem> Schedule(double? fps, params string[] paths)
    {
        var videos = paths.Select((p, i) => (new VideoSource(i, p, false), MediaProbe.Probe(p))).ToList();
        return DecodeSchedule.Files(videos, epochs: 1, new DecodeSettings { Fps = fps });
    }

    /// <summary>Runs a decode stage to the end and returns every message, releasing the frames.</summary>
    private static List<(DecodeEventKind Kind, int Source, long Index, double Pts, byte[]? FirstPixel)> Drain(DecodeStage stage)
    {
        var seen = new List<(DecodeEventKind, int, long, double, byte[]?)>();
        stage.Start(CancellationToken.None);
        while (stage.Output.TryReadBlocking(out var message, CancellationToken.None))
        {
            var frame = message.Frame;
            seen.Add((message.Kind, message.Item.Source.Id, frame?.Index ?? -1, frame?.Pts ?? -1, frame?.Pixels[..3].ToArray()));
            frame?.Release();
        }
        stage.WaitAndRethrow();
        return seen;
    }

    [Fact]
    public void Every_frame_of_a_file_arrives_in_order_with_its_time()
    {
        var schedule = Schedule(null, clips.TestSrc);
        var stage = new DecodeStage(schedule, [], new DecodeSettings { Size = 32 }, DecodeResumePoint.FromStart(1), null, NullLogger.Instance);
        var frames = Drain(stage).Where(m => m.Kind == DecodeEventKind.Frame).ToList();

        Assert.Equal(Clips.CountFrames(clips.TestSrc), frames.Count);
        Assert.Equal(Enumerable.Range(0, frames.Count).Select(i => (long)i), frames.Select(f => f.Index));
        Assert.All(frames, f => Assert.Equal(f.Index / 25.0, f.Pts, 9));
    }

    [Fact]
    public void Frames_are_rgb24_at_the_training_size()
    {
        var schedule = Schedule(null, clips.Red);
        var stage = new DecodeStage(schedule, [], new DecodeSettings { Size = 16 }, DecodeResumePoint.FromStart(1), null, NullLogger.Instance);
        var first = Drain(stage).First(m => m.Kind == DecodeEventKind.Frame).FirstPixel!;
        Assert.InRange(first[0], 240, 255);   // red
        Assert.InRange(first[1], 0, 15);      // green
        Assert.InRange(first[2], 0, 15);      // blue
    }

    [Fact]
    public void Single_threaded_ffmpeg_decodes_the_same_frames()
    {
        List<byte[]> Frames(int threads) => DecodedPixels.Of(Schedule(null, clips.Mandelbrot), new DecodeSettings { Size = 32, FfmpegThreads = threads });

        var own = Frames(threads: 0);
        var single = Frames(threads: 1);
        Assert.Equal(Clips.CountFrames(clips.Mandelbrot), single.Count);
        Assert.Equal(own, single);
    }

    [Fact]
    public void A_files_ffmpeg_runs_below_normal_priority()
    {
        if (!Platform.HasProcFileSystem) return;
        using var folder = new TempFolder("nice");
        string clip = folder["only-this-test.mp4"];
        File.Copy(clips.TestSrc, clip);
        var stage = new DecodeStage(Schedule(null, clip), [], new DecodeSettings { Size = 16 }, DecodeResumePoint.FromStart(1), null, NullLogger.Instance);
        using var stop = new CancellationTokenSource();
        stage.Start(stop.Token);
        try
        {
            // The first frame: FFmpeg is running now, held back by the full queues behind it.
            while (stage.Output.TryReadBlocking(out var message, CancellationToken.None) && message.Frame is null) { }
            int? nice = null;
            foreach (string process in Directory.GetDirectories("/proc").Where(d => int.TryParse(System.IO.Path.GetFileName(d), out _)))
            {
                try
                {
                    if (!File.ReadAllText(process + "/cmdline").Contains("only-this-test.mp4", StringComparison.Ordinal)) continue;
                    string stat = File.ReadAllText(process + "/stat");
                    nice = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[16]);
                }
                catch (IOException) { }
            }
            Assert.Equal(10, nice);
        }
        finally
        {
            stop.Cancel();
            try { stage.WaitAndRethrow(); } catch (OperationCanceledException) { }
        }
    }

    [Fact]
    public void FFmpegs_output_pipe_is_widened_on_linux()
    {
        if (!OperatingSystem.IsLinux()) return;
        using var process = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sleep", "5") { RedirectStandardOutput = true })!;
        try
        {
            var pipe = process.StandardOutput.BaseStream;
            Assert.InRange(Platform.PipeBytes(pipe) ?? 0, 1, (1 << 20) - 1);
            Platform.WidenPipe(pipe, 1 << 20);
            Assert.True(Platform.PipeBytes(pipe) >= 1 << 20);
            Assert.Null(Platform.PipeBytes(new MemoryStream()));
        }
        finally
        {
            process.Kill();
        }
    }

    [Fact]
    public void Two_sources_interleave_one_frame_each_in_the_same_order_every_run()
    {
        var schedule = Schedule(5, clips.TestSrc, clips.Mandelbrot);
        List<(int, long)> Order()
        {
            var stage = new DecodeStage(schedule, [], new DecodeSettings { Size = 16, Fps = 5 }, DecodeResumePoint.FromStart(2), null, NullLogger.Instance);
            return Drain(stage).Where(m => m.Kind == DecodeEventKind.Frame).Select(m => (m.Source, m.Index)).ToList();
        }
        var first = Order();
        Assert.Equal(first, Order());
        Assert.Equal(200, first.Count);   // 2 clips x 20 s x 5 frames/s
        Assert.Equal([(0, 0L), (1, 0L), (0, 1L), (1, 1L)], first.Take(4));
    }

    [Fact]
    public void A_frame_budget_stops_decoding_and_reports_the_sources_as_stopped()
    {
        var schedule = Schedule(null, clips.TestSrc, clips.Mandelbrot);
        var stage = new DecodeStage(schedule, [], new DecodeSettings { Size = 16 }, DecodeResumePoint.FromStart(2), frameBudget: 30, NullLogger.Instance);
        var messages = Drain(stage);
        Assert.Equal(30, messages.Count(m => m.Kind == DecodeEventKind.Frame));
        Assert.Equal(2, messages.Count(m => m.Kind == DecodeEventKind.SourceEnded));
    }
}
