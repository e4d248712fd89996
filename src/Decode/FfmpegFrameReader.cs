using System.Threading.Channels;
using FFMpegCore;
using FFMpegCore.Enums;
using FFMpegCore.Exceptions;
using FFMpegCore.Pipes;

namespace VideoSsl.Decode;

/// <summary>
/// One FFmpeg process reading one work item into a small bounded channel of frames. FFmpeg itself resamples
/// (fps filter), scales (area filter) and converts to rgb24, so the program only copies whole frames out of the
/// pipe. When the channel is full FFmpeg is held back by the pipe: nothing is dropped and nothing buffers up.
/// </summary>
public sealed class FfmpegFrameReader : IDisposable
{
    private readonly CancellationTokenSource _stop;
    private readonly Channel<VideoFrame> _frames;

    private FfmpegFrameReader(DecodeWorkItem item, int lane, int size, long skipBefore, long replayBefore, long? stopAt,
        int capacity, CancellationToken cancel)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        _frames = Channel.CreateBounded<VideoFrame>(new BoundedChannelOptions(capacity)
            { FullMode = BoundedChannelFullMode.Wait, SingleReader = true, SingleWriter = true });
        Item = item;
        Outcome = Task.Run(() => RunAsync(item, lane, size, skipBefore, replayBefore, stopAt));
    }

    public DecodeWorkItem Item { get; }

    public ChannelReader<VideoFrame> Frames => _frames.Reader;

    /// <summary>Completes after FFmpeg has exited and the channel is complete.</summary>
    public Task<DecodeOutcome> Outcome { get; }

    /// <summary>
    /// Starts decoding <paramref name="item"/>. Frames before <paramref name="skipBefore"/> are decoded and thrown
    /// away, frames before <paramref name="replayBefore"/> are marked as replay, and decoding stops at
    /// <paramref name="stopAt"/> (exclusive) when given.
    /// </summary>
    public static FfmpegFrameReader Start(DecodeWorkItem item, int lane, int size, CancellationToken cancel,
        long skipBefore = 0, long replayBefore = 0, long? stopAt = null, int capacity = 8) =>
        new(item, lane, size, skipBefore, replayBefore, stopAt, capacity, cancel);

    /// <summary>Stops FFmpeg; frames already in the channel stay readable.</summary>
    public void Stop() => _stop.Cancel();

    private async Task<DecodeOutcome> RunAsync(DecodeWorkItem item, int lane, int size, long skipBefore, long replayBefore, long? stopAt)
    {
        int frameBytes = size * size * 3;
        long produced = 0;   // frames FFmpeg delivered, skipped ones included
        long delivered = 0;
        var sink = new StreamPipeSink(async (pipe, _) =>
        {
            // The sink's own token is cancelled the moment FFmpeg exits, with frames still in the pipe: ignore it
            // and read to the end of the stream.
            byte[] scratch = new byte[frameBytes];
            while (!_stop.IsCancellationRequested && (stopAt is null || produced < stopAt))
            {
                bool keep = produced >= skipBefore;
                byte[] buffer = keep ? VideoFrame.RentBuffer(size) : scratch;
                int filled = 0, read;
                while (filled < frameBytes && (read = await pipe.ReadAsync(buffer.AsMemory(filled, frameBytes - filled))) > 0)
                    filled += read;
                if (filled < frameBytes)
                {
                    if (keep) System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }
                long index = produced++;
                if (!keep) continue;
                var frame = new VideoFrame(item.Source.Id, item.Index, lane, index, index / item.Rate, size, buffer, index < replayBefore);
                try
                {
                    await _frames.Writer.WriteAsync(frame, _stop.Token);
                    delivered++;
                }
                catch (OperationCanceledException)
                {
                    frame.Release();
                    break;
                }
            }
        });

        string filters = $"fps={Invariant(item.Rate)},scale={size}:{size}:flags=area,format=rgb24";
        string? error = null;
        try
        {
            await FFMpegArguments
                .FromFileInput("file:" + Path.GetFullPath(item.Source.Path), verifyExists: false)
                .OutputToPipe(sink, o => o
                    .WithCustomArgument("-map 0:v:0 -an -sn -dn")
                    .WithCustomArgument($"-vf {filters}")
                    .ForceFormat("rawvideo"))
                .WithLogLevel(FFMpegLogLevel.Error)
                .CancellableThrough(_stop.Token, TimeSpan.FromMilliseconds(500))
                .ProcessAsynchronously(throwOnError: true);
        }
        catch (FFMpegProcessException e) when (!_stop.IsCancellationRequested)
        {
            error = MediaProbe.UsefulFfmpegError(string.Join("\n", e.Result.StandardError), Path.GetFullPath(item.Source.Path));
        }
        catch (Exception e) when (_stop.IsCancellationRequested || e is OperationCanceledException)
        {
            // stopped on purpose: FFmpeg was asked to quit or killed
        }
        catch (Exception e) when (e is FFMpegException or IOException)
        {
            error = e.Message.Split('\n')[0];
        }
        finally
        {
            _frames.Writer.TryComplete();
        }
        bool stopped = _stop.IsCancellationRequested || (stopAt is not null && produced >= stopAt);
        return new DecodeOutcome(delivered, item.ExpectedFrames, error, stopped);
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
