using System.Globalization;
using Microsoft.Extensions.Logging;
using VideoSsl.Engine;
using VideoSsl.Messages.Overlay;
using VideoSsl.Rendering.Gl;
using VideoSsl.Rendering.Native;
using VideoSsl.Rendering.Surfaces;

namespace VideoSsl.Rendering.Overlay;

/// <summary>What the overlay did in a run, for the summary and the log.</summary>
public sealed record OverlayReport(ViewMode View, string Route, string Renderer, long FramesRendered, long FramesRecorded, string? Record, int Screenshots);

/// <summary>
/// The overlay's render loop body, called by the pipeline's monitor on the thread that opened it (the one whose GL
/// context is current): takes input, uploads whatever the feed has that is newer, draws, and shows, records or
/// saves the picture. Paced by the caller at <see cref="Hertz"/>.
/// </summary>
public sealed class OverlayView : IOverlayView, IDisposable
{
    private readonly IRenderSurface _surface;
    private readonly OverlayRenderer _renderer;
    private readonly OverlayRecorder? _recorder;
    private readonly ViewSettings _settings;
    private readonly string? _screenshotDir;
    private readonly ILogger _log;
    private readonly string _rendererName;
    private readonly RateMeter _rates = new();
    private byte[]? _pixels;
    private long _seenDisplay, _seenHeat, _seenSimilarity;
    private (float X, float Y)? _marker;
    private bool _screenshotRequested;
    private int _screenshots;
    private bool _quit;
    private Heatmap? _heat;
    private SimilarityHistory? _similarity;
    private readonly int _contextThread = Environment.CurrentManagedThreadId;

    private OverlayView(IRenderSurface surface, ViewSettings settings, string? screenshotDir, ILogger log)
    {
        _surface = surface;
        _settings = settings;
        _screenshotDir = screenshotDir;
        _log = log;
        var (width, height) = settings.DisplayPixels;
        _renderer = new OverlayRenderer(surface.Gl, width, height, settings.Shaders ?? ShaderLibrary.FindDefault(), settings.HeatmapOpacity);
        _rendererName = GlInfo.Renderer(surface.Gl);
        Feed = new OverlayFeed(width, height, Math.Max(2 * settings.RenderFps, 30));
        if (settings.Record is { } record) _recorder = new OverlayRecorder(record, _renderer.Width, _renderer.Height, settings.RenderFps);
        log.LogInformation("view: {Kind} ({Route}), GL_RENDERER {Renderer}, GL_VERSION {Version}; {Width}x{Height} at up to {Fps} frames/s, shaders from {Shaders}",
            Choice<ViewMode>.Name(surface.Kind), surface.Route, _rendererName, GlInfo.Version(surface.Gl), _renderer.Width, _renderer.Height, settings.RenderFps, _renderer.Shaders.Directory);
    }

    /// <summary>Opens the view the settings ask for, or returns null when there is none (asked for, or what auto fell back to).</summary>
    public static OverlayView? Open(ViewSettings settings, string title, string? screenshotDir, ILogger log)
    {
        if (!settings.Enabled) return null;
        var (width, height) = settings.DisplayPixels;
        var surface = RenderSurfaces.Open(settings.View, width + OverlayRenderer.PanelWidth, Math.Max(height, 360), title, log);
        if (surface is null)
        {
            if (settings.Record is not null || settings.SnapshotEvery is not null)
                throw new UserError("--record and --snapshot-every need a renderer, and none could start (see the warning above)");
            return null;
        }
        try
        {
            return new OverlayView(surface, settings, screenshotDir, log);
        }
        catch
        {
            surface.Dispose();
            throw;
        }
    }

    public OverlayFeed Feed { get; }
    public double Hertz => _settings.RenderFps;
    public bool QuitRequested => _quit || _surface.CloseRequested;
    public OverlayRenderer Renderer => _renderer;
    public long FramesRendered { get; private set; }

    public OverlayReport Report => new(_surface.Kind, _surface.Route, _rendererName, FramesRendered, _recorder?.Frames ?? 0, _recorder?.Path, _screenshots);

    public void Render(OverlayStatus status)
    {
        // GL calls from a thread without the context do nothing at all, silently: fail loudly instead.
        if (Environment.CurrentManagedThreadId != _contextThread)
            throw new InvalidOperationException("the overlay must be rendered on the thread that opened it (its GL context is current there)");
        foreach (var (key, click) in _surface.TakeInput())
        {
            if (click is { } at) Click(at.X, at.Y);
            else Press(key);
        }
        if (Feed.Display.TryTakeNewer(ref _seenDisplay, out var image))
        {
            _renderer.UploadFrame(image);
            Feed.ReturnDisplayBuffer(image.Rgb);
        }
        if (Feed.Heat.TryTakeNewer(ref _seenHeat, out var heat)) _renderer.UploadHeat(_heat = heat);
        if (Feed.Similarity.TryTakeNewer(ref _seenSimilarity, out var similarity)) _renderer.UploadSimilarity(_similarity = similarity);

        _renderer.Draw(Scene(status));
        FramesRendered++;

        bool snapshot = _settings.SnapshotEvery is { } every && FramesRendered % every == 0;
        if (_recorder is not null || snapshot || _screenshotRequested)
        {
            var pixels = _recorder?.RentBuffer() ?? (_pixels ??= new byte[_renderer.Width * _renderer.Height * 4]);
            _renderer.ReadPixels(pixels);
            if (snapshot) SavePng(Path.Combine(_settings.SnapshotDir!, $"overlay-{FramesRendered:D6}.png"), pixels);
            if (_screenshotRequested)
            {
                _screenshotRequested = false;
                SavePng(Path.Combine(_screenshotDir ?? ".", $"screenshot-{++_screenshots:D3}.png"), pixels);
            }
            _recorder?.Add(pixels);
        }
        if (_surface.ShownSize is { } shown)
        {
            _renderer.BlitTo(shown);
            _surface.Present();
        }
        else _surface.Gl.Flush();
    }

    /// <summary>A key press (GLFW key codes): space pause, H next heatmap, R reset, S screenshot, Q or Esc quit.</summary>
    public void Press(int key)
    {
        switch (key)
        {
            case Glfw.KeySpace: Feed.Paused = !Feed.Paused; break;
            case Glfw.KeyH: Feed.Mode = (HeatmapMode)(((int)Feed.Mode + 1) % 3); break;
            case Glfw.KeyR:
                if (Feed.Mode == HeatmapMode.Query) _marker = null;
                Feed.RequestReset();
                break;
            case Glfw.KeyS: _screenshotRequested = true; break;
            case Glfw.KeyQ or Glfw.KeyEscape: _quit = true; break;
        }
    }

    /// <summary>A click at window coordinates: inside the frame, it sets the query point.</summary>
    public void Click(double x, double y)
    {
        var (w, h) = _surface.WindowSize ?? (_renderer.Width, _renderer.Height);
        float cx = (float)(x * _renderer.Width / Math.Max(1, w)), cy = (float)(y * _renderer.Height / Math.Max(1, h));
        var frame = _renderer.Frame;
        if (cx < frame.X || cy < frame.Y || cx >= frame.X + frame.Width || cy >= frame.Y + frame.Height) return;
        _marker = ((cx - frame.X) / frame.Width, (cy - frame.Y) / frame.Height);
        Feed.SetQuery(_marker.Value.X, _marker.Value.Y);
    }

    private OverlayScene Scene(OverlayStatus status)
    {
        var text = CultureInfo.InvariantCulture;
        var rates = _rates.Update(status.Stages);
        var hud = new List<(string, Rgba)>();
        if (status.Source is { } source) hud.Add((Shorten(source, 52), Rgba.Dim));
        hud.Add(status.Training
            ? (string.Create(text, $"step {status.Step}  loss {Format(status.Loss, "0.000")}  ({Format(status.LossNorm, "0.00")} of chance)"), Rgba.White)
            : ("not training: the checkpoint's weights, unchanged", Rgba.White));
        foreach (var stage in status.Stages)
            hud.Add((string.Create(text, $"{stage.Stage,-7}{rates.GetValueOrDefault(stage.Stage),6:0} f/s  queue {stage.QueueDepth,3}  dropped {stage.Dropped}"), Rgba.White));
        string shortRenderer = _rendererName.Split(" (")[0];
        hud.Add((string.Create(text, $"{status.Device} | {shortRenderer} | overlay {_rates.RenderRate(FramesRendered),4:0} f/s"), Rgba.Dim));
        hud.Add((Feed.Paused ? "PAUSED (space resumes)" : "H heatmap  R reset  S shot  space pause  Q quit", Feed.Paused ? Rgba.Warning : Rgba.Dim));

        string caption = (_heat?.Caption ?? "heatmap: waiting for the model") + "  [H]";
        int count = _similarity?.Count ?? 0;
        string matrixLabel = string.Create(text, $"self-similarity, last {count} ({_similarity?.SpanSeconds ?? 0:0.0} s)");
        string lossLabel = string.Create(text, $"loss_norm {Format(status.LossNorm, "0.000")} (1 = chance)");
        if (status.HeldOut is { Count: > 0 } heldOut)
        {
            var (step, auc, tau) = heldOut[^1];
            lossLabel += string.Create(text, $"  held-out AUC {auc:0.000} tau {tau:0.000} (step {step})");
        }
        var marker = Feed.Mode == HeatmapMode.Query ? _marker : null;
        return new OverlayScene(hud, caption, matrixLabel, "newest frame against each of them", lossLabel, status.LossHistory, marker, _renderer.Shaders.Error,
            status.HeldOut is { Count: > 0 } h ? h.Select(q => q.Auc).ToList() : null);
    }

    private static string Format(double? value, string format) =>
        value is { } v && double.IsFinite(v) ? v.ToString(format, CultureInfo.InvariantCulture) : "-";

    private static string Shorten(string text, int max) => text.Length <= max ? text : "..." + text[^(max - 3)..];

    private void SavePng(string path, byte[] pixels)
    {
        try
        {
            PngFile.Write(path, pixels, _renderer.Width, _renderer.Height);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _log.LogWarning("view: could not write {Path} ({Message})", path, e.Message);
        }
    }

    /// <summary>Finishes the recording (the video is complete only after this) and logs what was drawn.</summary>
    public void Complete()
    {
        _recorder?.Complete();
        _log.LogInformation("view: rendered {Frames} overlay frames{Recorded}", FramesRendered,
            _recorder is null ? "" : $", recorded {_recorder.Frames} to {_recorder.Path}");
    }

    public void Dispose()
    {
        _recorder?.Dispose();
        _renderer.Dispose();
        _surface.Dispose();
    }

    /// <summary>Per-stage frames per second from successive counter snapshots, over windows of half a second.</summary>
    private sealed class RateMeter
    {
        private readonly Dictionary<string, double> _rates = [];
        private IReadOnlyList<StageSnapshot>? _previous;
        private long _previousRendered;
        private double _previousTime, _renderTime, _renderRate;
        private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

        public Dictionary<string, double> Update(IReadOnlyList<StageSnapshot> stages)
        {
            double now = _clock.Elapsed.TotalSeconds;
            if (_previous is null)
            {
                (_previous, _previousTime) = (stages, now);
                return _rates;
            }
            double elapsed = now - _previousTime;
            if (elapsed < 0.5) return _rates;
            foreach (var stage in stages)
            {
                var before = _previous.FirstOrDefault(s => s.Stage == stage.Stage);
                if (before is null) continue;
                long frames = Math.Max(stage.ItemsIn - before.ItemsIn, stage.ItemsOut - before.ItemsOut);
                _rates[stage.Stage] = frames / elapsed;
            }
            (_previous, _previousTime) = (stages, now);
            return _rates;
        }

        public double RenderRate(long rendered)
        {
            double now = _clock.Elapsed.TotalSeconds;
            if (now - _renderTime >= 0.5)
            {
                _renderRate = (rendered - _previousRendered) / (now - _renderTime);
                (_previousRendered, _renderTime) = (rendered, now);
            }
            return _renderRate;
        }
    }
}
