using System.Diagnostics;
using System.Threading.Channels;
using FFMpegCore;
using VideoSsl.Engine;
using VideoSsl.Messages;
using VideoSsl.Messages.Overlay;

namespace VideoSsl.Decode;

/// <summary>How one FFmpeg process is read.</summary>
public sealed record ReadOptions
{
    /// <summary>Frames before this index are decoded and thrown away.</summary>
    public long SkipBefore { get; init; }

    /// <summary>Frames before this index are marked as refill (refilling buffers after a resume).</summary>
    public long RefillBefore { get; init; }

    /// <summary>Stop once this index is reached (exclusive).</summary>
    public long? StopAt { get; init; }

    /// <summary>Frames queued before FFmpeg is held back (the decode stage leaves room for two of its merge's bursts).</summary>
    public int Capacity { get; init; } = 16;

    /// <summary>
    /// Live reading: a full queue drops its oldest frame instead of holding FFmpeg back, and frames are numbered on
    /// from <see cref="FirstIndex"/> with times from <see cref="PtsStart"/> (a reopened source continues its clock).
    /// </summary>
    public bool Live { get; init; }

    public long FirstIndex { get; init; }

    /// <summary>Time of this process's first frame; later frames follow at the decode rate (FFmpeg's fps filter makes them regular).</summary>
    public double PtsStart { get; init; }

    /// <summary>Called after each frame is queued and when the reader finishes (wakes a waiting merge).</summary>
    public Action? Signal { get; init; }

    /// <summary>Called for each frame a full live queue dropped.</summary>
    public Action? Dropped { get; init; }

    /// <summary>
    /// The overlay this reader feeds: FFmpeg then also scales each frame to display size (from the source, not by
    /// upscaling the training frame) and stacks it above the training frame, so the two stay in step in one pipe.
    /// </summary>
    public OverlayFeed? Display { get; init; }

    /// <summary>Also encode the source into rolling segments under this path prefix (live sources with --keep-recent).</summary>
    public string? RecordPrefix { get; init; }

    public double RecordSegmentSeconds { get; init; } = 30;
}

/// <summary>
/// One FFmpeg process reading one source into a small bounded channel of frames. FFmpeg itself resamples
/// (fps filter), scales (area filter) and converts to rgb24, so the program only copies whole frames out of the
/// pipe. For files a full channel holds FFmpeg back through the pipe (nothing is dropped, nothing piles up); for
/// live sources it drops the oldest frame, so the source is never stalled.
/// </summary>
public sealed class FfmpegFrameReader : IFileFrames
{
    private readonly CancellationTokenSource _stop;
    private readonly Channel<VideoFrame> _frames;
    private readonly ReadOptions _options;
    private readonly BurstSignal _burst = new();

    private FfmpegFrameReader(DecodeWorkItem item, int lane, int size, InputPlan input, ReadOptions options, CancellationToken cancel)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        _options = options;
        var channel = new BoundedChannelOptions(options.Capacity)
        {
            FullMode = options.Live ? BoundedChannelFullMode.DropOldest : BoundedChannelFullMode.Wait,
            SingleReader = true,
            SingleWriter = true,
        };
        _frames = Channel.CreateBounded<VideoFrame>(channel, dropped =>
        {
            dropped.Release();
            options.Dropped?.Invoke();
        });
        Item = item;
        // A thread of its own reads FFmpeg's output with plain blocking reads: asynchronous reads of a pipe cost a
        // thread-pool hop each, which made the reader a noticeable share of the decode's cost (README, *Speed*).
        var outcome = new TaskCompletionSource<DecodeOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        Outcome = outcome.Task;
        new Thread(() =>
        {
            try { outcome.SetResult(Read(item, lane, size, input)); }
            catch (Exception e) { outcome.SetException(e); }
        }) { IsBackground = true, Name = $"ffmpeg {item.Source.Name}" }.Start();
    }

    public DecodeWorkItem Item { get; }

    public ChannelReader<VideoFrame> Frames => _frames.Reader;

    /// <summary>Completes after FFmpeg has exited and the channel is complete.</summary>
    public Task<DecodeOutcome> Outcome { get; }

    public static FfmpegFrameReader Start(DecodeWorkItem item, int lane, int size, InputPlan input, ReadOptions options, CancellationToken cancel) =>
        new(item, lane, size, input, options, cancel);

    /// <summary>What makes a training frame of a decoded picture: resampled to the decode rate, scaled by area, rgb24.</summary>
    internal static string TrainingFrameFilters(double rate, int size) => $"fps={Invariant(rate)},scale={size}:{size}:flags=area,format=rgb24";

    /// <summary>Stops FFmpeg; frames already in the channel stay readable.</summary>
    public void Stop() => _stop.Cancel();

    /// <summary>Waits until at least <paramref name="count"/> frames are queued or the reader has finished (see <see cref="BurstSignal"/>).</summary>
    public void WaitForFrames(int count, CancellationToken cancel) =>
        _burst.Wait(count, () => _frames.Reader.Count, () => _frames.Reader.Completion.IsCompleted || Outcome.IsCompleted, cancel);

    private DecodeOutcome Read(DecodeWorkItem item, int lane, int size, InputPlan input)
    {
        int frameBytes = size * size * 3;
        var display = _options.Display;
        var layout = display is null ? null : new StackedLayout(size, display.DisplayWidth, display.DisplayHeight);
        int readBytes = layout?.Bytes ?? frameBytes;
        long produced = 0;   // frames FFmpeg delivered in this process, skipped ones included
        long delivered = 0;
        string filters = layout?.Filters(item.Rate) ?? TrainingFrameFilters(item.Rate, size);
        // FFMpegCore builds the command; the program reads FFmpeg's standard output itself: FFMpegCore's own pipe
        // sink (a socket) cost more CPU than a plain pipe (README, *Speed*).
        string arguments = FFMpegArguments
            .FromUrlInput(input.Input, o => o.WithCustomArgument($"-nostdin -hide_banner -loglevel error {input.Options}"))
            .OutputToUrl("pipe:1", o => o
                .WithCustomArgument(layout is null ? "-map 0:v:0 -an -sn -dn" : "-map [stacked] -an -sn -dn")
                .WithCustomArgument(layout is null ? $"-vf {filters}" : $"-filter_complex {filters}")
                .ForceFormat("rawvideo"))
            .Arguments + RecentInputOutput();
        FfmpegFramePipe ffmpeg;
        try
        {
            ffmpeg = FfmpegFramePipe.Start(arguments, _options.Live, _stop.Token);
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            _frames.Writer.TryComplete();
            _options.Signal?.Invoke();
            return new DecodeOutcome(0, item.ExpectedFrames, $"ffmpeg could not be started ({e.Message})", false);
        }
        using (ffmpeg)
        {
            try
            {
                // Frames are read straight into their buffers.
                var pipe = ffmpeg.Frames;
                byte[] scratch = new byte[readBytes];
                while (!_stop.IsCancellationRequested && (_options.StopAt is null || produced < _options.StopAt))
                {
                    bool keep = produced >= _options.SkipBefore;
                    byte[] buffer = keep && layout is null ? VideoFrame.RentBuffer(size) : scratch;
                    if (pipe.ReadAtLeast(buffer.AsSpan(0, readBytes), readBytes, throwOnEndOfStream: false) < readBytes)
                    {
                        if (keep && layout is null) System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                        break;
                    }
                    long arrival = Stopwatch.GetTimestamp();
                    long index = _options.FirstIndex + produced;
                    // Stream time, not arrival time: frames that arrive in a burst (probing, a backlog) still lie 1/rate apart.
                    double pts = _options.Live ? _options.PtsStart + produced / item.Rate : index / item.Rate;
                    produced++;
                    if (layout is not null && display is not null)
                    {
                        layout.Publish(scratch, display, pts);
                        if (keep)
                        {
                            buffer = VideoFrame.RentBuffer(size);
                            layout.CopyTrainingFrame(scratch, buffer);
                        }
                    }
                    if (!keep) continue;
                    var frame = new VideoFrame(item.Source.Id, item.Index, lane, index, pts, size, buffer, index < _options.RefillBefore, arrival);
                    try
                    {
                        if (!_frames.Writer.WriteBlocking(frame, _stop.Token)) throw new OperationCanceledException();
                        delivered++;
                        _options.Signal?.Invoke();
                        _burst.Notify(_frames.Reader.Count, finished: false);
                    }
                    catch (OperationCanceledException)
                    {
                        frame.Release();
                        break;
                    }
                }
            }
            catch (IOException) when (_stop.IsCancellationRequested)
            {
                // the pipe broke because FFmpeg was stopped
            }
            finally
            {
                _frames.Writer.TryComplete();
                _options.Signal?.Invoke();
                _burst.Notify(_frames.Reader.Count, finished: true);
            }
            bool reachedEnd = !_stop.IsCancellationRequested && (_options.StopAt is null || produced < _options.StopAt);
            int exitCode = ffmpeg.Finish(kill: !reachedEnd);
            bool stopped = _stop.IsCancellationRequested || (_options.StopAt is not null && produced >= _options.StopAt);
            string? error = !stopped && exitCode != 0 ? MediaProbe.UsefulFfmpegError(ffmpeg.Errors.Text, input.Input) : null;
            return new DecodeOutcome(delivered, item.ExpectedFrames, error, stopped);
        }
    }

    /// <summary>
    /// A second output of the same FFmpeg process: the source at up to 360 lines, H.264, cut into MPEG-TS segments
    /// named by their start time (a segment cut short by a stop still plays).
    /// </summary>
    private string RecentInputOutput()
    {
        if (_options.RecordPrefix is not { } prefix) return "";
        string pattern = prefix.Replace("%", "%%", StringComparison.Ordinal) + "-%Y%m%d-%H%M%S.ts";
        // passthrough: a live stream's timestamp jumps must not make FFmpeg encode thousands of duplicate frames.
        return $" -map 0:v:0 -an -sn -dn -fps_mode passthrough -vf \"scale=-2:'min(ih,360)'\" -c:v libx264 -preset ultrafast -crf 26 -pix_fmt yuv420p" +
            // A segment can only be cut at a key frame: force one at every cut point.
            $" -force_key_frames \"expr:gte(t,n_forced*{Invariant(_options.RecordSegmentSeconds)})\"" +
            $" -f segment -segment_time {Invariant(_options.RecordSegmentSeconds)} -segment_format mpegts -reset_timestamps 1 -strftime 1 \"{pattern}\"";
    }

    /// <summary>
    /// The display frame (display width x height, stretched like the training frame, so heatmap cells line up with
    /// it; the display size follows the source's shape unless set) stacked above the training frame (padded to the same
    /// width) in one rgb24 picture per frame; FFmpeg's fps filter runs once, before the split, so both are the same moment.
    /// </summary>
    private sealed class StackedLayout(int size, int displayWidth, int displayHeight)
    {
        private readonly int _width = Math.Max(size, displayWidth);

        public int Bytes => _width * (displayHeight + size) * 3;

        public string Filters(double rate) =>
            $"[0:v:0]fps={Invariant(rate)},split=2[train][show];" +
            $"[train]scale={size}:{size}:flags=area,format=rgb24,pad={_width}:{size}:0:0[t];" +
            $"[show]scale={displayWidth}:{displayHeight}:flags=bilinear,format=rgb24,pad={_width}:{displayHeight}:0:0[d];[d][t]vstack=inputs=2[stacked]";

        public void CopyTrainingFrame(byte[] stacked, byte[] frame)
        {
            int row = size * 3, stride = _width * 3, top = displayHeight * stride;
            for (int y = 0; y < size; y++) Buffer.BlockCopy(stacked, top + y * stride, frame, y * row, row);
        }

        /// <summary>Copies out the shown frame and its training-size twin, at most at the feed's display rate.</summary>
        public void Publish(byte[] stacked, OverlayFeed feed, double pts)
        {
            if (!feed.WantsDisplayFrame()) return;
            var probe = new byte[size * size * 3];
            CopyTrainingFrame(stacked, probe);
            feed.Probe.Publish(new ProbeImage(probe, size, pts));
            var shown = feed.RentDisplayBuffer();
            int row = displayWidth * 3, stride = _width * 3;
            for (int y = 0; y < displayHeight; y++) Buffer.BlockCopy(stacked, y * stride, shown, y * row, row);
            feed.Display.Publish(new DisplayImage(shown, displayWidth, displayHeight, pts));
        }
    }

    private static string Invariant(double value) => value.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture);

    public void Dispose()
    {
        _stop.Cancel();
        try { Outcome.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
        while (_frames.Reader.TryRead(out var frame)) frame.Release();
        _stop.Dispose();
    }
}
