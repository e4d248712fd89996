using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;
using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Decode;

/// <summary>
/// One FFmpeg process for a run of short files, decoded one after another. Starting FFmpeg costs about 80 ms of CPU
/// here (Debian's build links 215 shared libraries and spends most of its start resolving their symbols), which in a
/// folder of 3 s clips was as much as decoding the clip; a batch pays it once for up to <see cref="MaxFiles"/> files.
///
/// Each file keeps its own filter chain, the one a file of its own gets (<see cref="FfmpegFrameReader.TrainingFrameFilters"/>:
/// its own decode rate, from its own first frame), so its frames are the same, byte for byte. The chains end in one
/// concat filter, and each adds a row below its frames in a colour that spells the file's place in the batch: the
/// reader knows whose frame it holds without counting frames in advance, and strips the row. If the process fails
/// (a file that cannot be decoded), the file being read and every later one are decoded alone, the first from where
/// it had got to, so each failure is reported for the file it belongs to, exactly as without batching.
/// </summary>
public sealed class ShortFileBatch
{
    /// <summary>
    /// Files one process opens at once. FFmpeg opens them all at the start, a demuxer thread and a decoder each, and
    /// decodes a first picture of each to set up its filters: 32 files of 320x240 took 128 MB, 16 took 93 MB.
    /// </summary>
    public const int MaxFiles = 32;

    /// <summary>Pixels of all the files of a batch together (32 files of 640x480): fewer larger files share a process, about four 1080p ones.</summary>
    public const long MaxPixels = 32L * 640 * 480;

    /// <summary>A file's share of <see cref="MaxPixels"/>.</summary>
    public static long PixelsOf(DecodeWorkItem item) => item.Info is { } info ? (long)info.Width * info.Height : MaxPixels;

    /// <summary>Longer files gain nothing from sharing a process: their start is a small part of their decode.</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromSeconds(30);

    private readonly BatchedFile[] _files;
    private readonly int _lane;
    private readonly int _size;
    private readonly CancellationTokenSource _stop;

    private ShortFileBatch(IReadOnlyList<(DecodeWorkItem Item, InputPlan Plan)> files, int lane, int size, Action? signal, CancellationToken cancel)
    {
        _stop = CancellationTokenSource.CreateLinkedTokenSource(cancel);
        _files = files.Select(f => new BatchedFile(this, f.Item, f.Plan, lane, size, signal)).ToArray();
        _lane = lane;
        _size = size;
        new Thread(Run) { IsBackground = true, Name = $"ffmpeg batch of {_files.Length} from {files[0].Item.Source.Name}" }.Start();
    }

    /// <summary>Whether a work item may share a process: a plain local file (not read in real time, not a playlist) of at most <see cref="MaxDuration"/>.</summary>
    public static bool Fits(DecodeWorkItem item) =>
        item.Source.Kind == VideoSource.FileKind && !item.Source.Realtime && !LocalPlaylist.IsPlaylistName(item.Source.Path)
        && item.Info is { } info && info.Duration > TimeSpan.Zero && info.Duration <= MaxDuration;

    /// <summary>Starts one process for <paramref name="files"/> (at most <see cref="MaxFiles"/>); each file's frames are read from its own reader in <see cref="Files"/>, in order.</summary>
    public static ShortFileBatch Start(IReadOnlyList<(DecodeWorkItem Item, InputPlan Plan)> files, int lane, int size, Action? signal, CancellationToken cancel)
    {
        if (files.Count is 0 or > MaxFiles) throw new ArgumentOutOfRangeException(nameof(files), files.Count, $"a batch holds 1 to {MaxFiles} files");
        return new ShortFileBatch(files, lane, size, signal, cancel);
    }

    /// <summary>The batch's files, each read like a file with a process of its own.</summary>
    public IReadOnlyList<IFileFrames> Files => _files;

    /// <summary>FFmpeg processes started so far: one, and one more for each file decoded alone after the batch failed.</summary>
    public int ProcessesStarted => Volatile.Read(ref _processesStarted);

    private int _processesStarted;

    private void Stop()
    {
        try { _stop.Cancel(); }
        catch (ObjectDisposedException) { }   // the batch has ended
    }

    private void Run()
    {
        int next = 0;
        string? failure = null;
        try
        {
            next = DecodeTogether();
            for (; next < _files.Length && !_stop.IsCancellationRequested; next++) DecodeAlone(_files[next]);
        }
        catch (OperationCanceledException)
        {
            // stopped: what is left ends below
        }
        catch (Exception e) when (e is IOException or System.ComponentModel.Win32Exception)
        {
            failure = $"ffmpeg could not be started ({e.Message})";
        }
        finally
        {
            foreach (var file in _files) file.End(failure, stopped: failure is null);   // only those not ended yet
            _stop.Dispose();   // a batch per 16 files: its link to the run's token must not outlive it
        }
    }

    /// <summary>Runs the batch's process; returns the first file it did not finish (all of them when it failed to start).</summary>
    private int DecodeTogether()
    {
        using var ffmpeg = FfmpegFramePipe.Start(Arguments(), live: false, _stop.Token);
        Interlocked.Increment(ref _processesStarted);
        int frameBytes = _size * _size * 3, current = 0;
        bool wellFormed = true, stopped = false;
        var marker = new byte[_size * 3];
        var pipe = ffmpeg.Frames;
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                byte[] buffer = VideoFrame.RentBuffer(_size);
                if (pipe.ReadAtLeast(buffer.AsSpan(0, frameBytes), frameBytes, throwOnEndOfStream: false) < frameBytes
                    || pipe.ReadAtLeast(marker, marker.Length, throwOnEndOfStream: false) < marker.Length)
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                    break;
                }
                int owner = Owner(marker);
                if (owner < current || owner >= _files.Length)
                {
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                    wellFormed = false;
                    break;
                }
                while (current < owner) _files[current++].End(null, stopped: false);
                if (!_files[current].Queue(buffer, Stopwatch.GetTimestamp(), _stop.Token))
                {
                    stopped = true;
                    break;
                }
            }
        }
        catch (IOException) when (_stop.IsCancellationRequested)
        {
            // the pipe broke because FFmpeg was stopped
        }
        stopped |= _stop.IsCancellationRequested;
        int exitCode = ffmpeg.Finish(kill: stopped || !wellFormed);
        if (stopped || !wellFormed || exitCode != 0) return current;
        while (current < _files.Length) _files[current++].End(null, stopped: false);
        return current;
    }

    /// <summary>A file after its batch failed: its own process, from the frame the batch had got to.</summary>
    private void DecodeAlone(BatchedFile file)
    {
        Interlocked.Increment(ref _processesStarted);
        using var reader = FfmpegFrameReader.Start(file.Item, _lane, _size, file.Plan, new ReadOptions { SkipBefore = file.Delivered }, _stop.Token);
        while (reader.Frames.TryReadBlocking(out var frame, _stop.Token))
            if (!file.Queue(frame, _stop.Token)) return;
        var outcome = reader.Outcome.GetAwaiter().GetResult();
        file.End(outcome.Error, outcome.Stopped);
    }

    private List<string> Arguments()
    {
        var arguments = new List<string> { "-nostdin", "-hide_banner", "-loglevel", "error" };
        var graph = new StringBuilder();
        for (int i = 0; i < _files.Length; i++)
        {
            var plan = _files[i].Plan;
            arguments.AddRange(plan.Options.Split(' ', StringSplitOptions.RemoveEmptyEntries));
            // One decoder works at a time and a short clip gives its frame threads little to share: unless the run
            // set --ffmpeg-threads, one thread each (measured: less CPU for the batch, the same frames).
            if (!plan.Options.Contains("-threads", StringComparison.Ordinal)) arguments.AddRange(["-threads", "1"]);
            arguments.AddRange(["-i", plan.Input]);
            // The chain of a file of its own, then the row that names the file (pad fills rgb24 with the exact colour).
            graph.Append(CultureInfo.InvariantCulture,
                $"[{i}:v:0]{FfmpegFrameReader.TrainingFrameFilters(_files[i].Item.Rate, _size)},setsar=1,pad={_size}:{_size + 1}:0:0:color=0x{i:x6}[v{i}];");
        }
        for (int i = 0; i < _files.Length; i++) graph.Append(CultureInfo.InvariantCulture, $"[v{i}]");
        graph.Append(CultureInfo.InvariantCulture, $"concat=n={_files.Length}:v=1:a=0[frames]");
        // passthrough: each file's frames as its chain made them, never resampled to the first file's rate.
        arguments.AddRange(["-filter_complex", graph.ToString(), "-map", "[frames]", "-an", "-sn", "-dn", "-fps_mode", "passthrough", "-f", "rawvideo", "pipe:1"]);
        return arguments;
    }

    /// <summary>The file a frame's extra row names, or -1 when the row is not one colour.</summary>
    private static int Owner(byte[] row)
    {
        for (int x = 3; x < row.Length; x++)
            if (row[x] != row[x % 3]) return -1;
        return (row[0] << 16) | (row[1] << 8) | row[2];
    }

    /// <summary>One file of a batch, read like a file with a process of its own.</summary>
    private sealed class BatchedFile(ShortFileBatch batch, DecodeWorkItem item, InputPlan plan, int lane, int size, Action? signal) : IFileFrames
    {
        private readonly Channel<VideoFrame> _frames = ChannelExtensions.CreateBackPressured<VideoFrame>(2 * FileLane.Burst);
        private readonly TaskCompletionSource<DecodeOutcome> _outcome = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly BurstSignal _burst = new();

        public DecodeWorkItem Item => item;
        public InputPlan Plan => plan;
        public ChannelReader<VideoFrame> Frames => _frames.Reader;
        public Task<DecodeOutcome> Outcome => _outcome.Task;

        /// <summary>Frames queued so far.</summary>
        public long Delivered { get; private set; }

        /// <summary>Stops the whole batch: a lane stops only when the run stops, and later files are then never read.</summary>
        public void Stop() => batch.Stop();

        public void WaitForFrames(int count, CancellationToken cancel) =>
            _burst.Wait(count, () => _frames.Reader.Count, () => _frames.Reader.Completion.IsCompleted || Outcome.IsCompleted, cancel);

        public bool Queue(byte[] pixels, long arrival, CancellationToken cancel) =>
            Queue(new VideoFrame(item.Source.Id, item.Index, lane, Delivered, Delivered / item.Rate, size, pixels, refill: false, arrival), cancel);

        public bool Queue(VideoFrame frame, CancellationToken cancel)
        {
            try
            {
                if (!_frames.Writer.WriteBlocking(frame, cancel)) throw new OperationCanceledException();
            }
            catch (OperationCanceledException)
            {
                frame.Release();
                return false;
            }
            Delivered++;
            signal?.Invoke();
            _burst.Notify(_frames.Reader.Count, finished: false);
            return true;
        }

        /// <summary>Ends the file (once; later calls do nothing).</summary>
        public void End(string? error, bool stopped)
        {
            if (_outcome.Task.IsCompleted) return;
            _frames.Writer.TryComplete();
            _outcome.TrySetResult(new DecodeOutcome(Delivered, item.ExpectedFrames, error, stopped));
            signal?.Invoke();
            _burst.Notify(_frames.Reader.Count, finished: true);
        }

        /// <summary>A file let go before its end stops the batch (the run is stopping); one that has ended leaves the rest running.</summary>
        public void Dispose()
        {
            if (!Outcome.IsCompleted) batch.Stop();
            try { Outcome.Wait(TimeSpan.FromSeconds(5)); } catch (AggregateException) { }
            while (_frames.Reader.TryRead(out var frame)) frame.Release();
        }
    }
}
