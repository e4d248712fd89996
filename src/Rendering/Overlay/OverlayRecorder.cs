using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using VideoSsl.Decode;
using VideoSsl.Engine;

namespace VideoSsl.Rendering.Overlay;

/// <summary>
/// Encodes overlay frames into a video: raw RGBA frames piped into FFmpeg's libx264, written by a thread of its own
/// so the render thread only copies. Every frame handed in is encoded (the queue is short and the render thread
/// waits for room), so the video has exactly as many frames as were recorded.
/// </summary>
public sealed class OverlayRecorder : IDisposable
{
    private readonly BlockingCollection<byte[]> _frames = new(boundedCapacity: 3);
    private readonly ConcurrentBag<byte[]> _free = [];
    private readonly Process _ffmpeg;
    private readonly Thread _writer;
    private readonly StderrTail _errors;
    private readonly int _frameBytes;
    private Exception? _failure;

    public OverlayRecorder(string path, int width, int height, double fps)
    {
        Path = path;
        _frameBytes = width * height * 4;
        OutputFolder.For(path, $"--record '{path}'");
        string rate = fps.ToString("0.###", CultureInfo.InvariantCulture);
        var start = FfmpegTools.StartInfo(["-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "rawvideo", "-pix_fmt", "rgba", "-s", $"{width}x{height}", "-framerate", rate, "-i", "pipe:0",
            "-fps_mode", "passthrough", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-movflags", "+faststart", path]);
        start.RedirectStandardInput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        try
        {
            _ffmpeg = Process.Start(start) ?? throw new IOException("ffmpeg did not start");
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or IOException)
        {
            throw new UserError($"--record '{path}': ffmpeg could not be started ({e.Message})");
        }
        _errors = new StderrTail(_ffmpeg, keep: 10);
        _writer = new Thread(Write) { IsBackground = true, Name = "record" };
        _writer.Start();
    }

    public string Path { get; }

    /// <summary>Frames handed to the encoder.</summary>
    public long Frames { get; private set; }

    /// <summary>A buffer to read the next frame into (recycled from frames already written).</summary>
    public byte[] RentBuffer() => _free.TryTake(out var buffer) ? buffer : new byte[_frameBytes];

    /// <summary>Queues one frame (RGBA, top row first); waits while the encoder is three frames behind.</summary>
    public void Add(byte[] rgba)
    {
        if (_failure is not null) throw new UserError($"--record '{Path}': the encoder stopped ({_failure.Message}{LastError()})");
        _frames.Add(rgba);
        Frames++;
    }

    private void Write()
    {
        try
        {
            var input = _ffmpeg.StandardInput.BaseStream;
            foreach (var frame in _frames.GetConsumingEnumerable())
            {
                input.Write(frame, 0, _frameBytes);
                _free.Add(frame);
            }
            input.Close();
        }
        catch (IOException e)
        {
            _failure = e;
            while (_frames.TryTake(out _)) { }
        }
    }

    private string LastError() => _errors.Text is { Length: > 0 } text ? "; ffmpeg: " + text.Replace('\n', ' ') : "";

    /// <summary>Finishes the video; throws if FFmpeg failed.</summary>
    public void Complete()
    {
        _frames.CompleteAdding();
        _writer.Join();
        if (!_ffmpeg.WaitForExit(TimeSpan.FromSeconds(60))) _ffmpeg.Kill(entireProcessTree: true);
        _ffmpeg.WaitForExit();
        if (_failure is not null || _ffmpeg.ExitCode != 0)
            throw new UserError($"--record '{Path}': FFmpeg could not write the video (exit {_ffmpeg.ExitCode}{LastError()})");
    }

    public void Dispose()
    {
        if (!_frames.IsAddingCompleted) _frames.CompleteAdding();
        if (!_ffmpeg.HasExited)
        {
            _writer.Join(TimeSpan.FromSeconds(10));
            if (!_ffmpeg.WaitForExit(TimeSpan.FromSeconds(10))) _ffmpeg.Kill(entireProcessTree: true);
        }
        _ffmpeg.Dispose();
        _frames.Dispose();
    }
}
