using Silk.NET.OpenGL;
using VideoSsl.Messages.Overlay;

namespace VideoSsl.Rendering.Gl;

/// <summary>A rectangle on the canvas, in pixels, y down.</summary>
public readonly record struct PixelRect(float X, float Y, float Width, float Height)
{
    public (float X, float Y) Center => (X + Width / 2, Y + Height / 2);
}

/// <summary>An RGBA colour, components 0 to 1.</summary>
public readonly record struct Rgba(float R, float G, float B, float A = 1)
{
    public static readonly Rgba White = new(0.93f, 0.93f, 0.93f);
    public static readonly Rgba Dim = new(0.62f, 0.64f, 0.68f);
    public static readonly Rgba Warning = new(1f, 0.42f, 0.35f);
    public static readonly Rgba Accent = new(0.35f, 0.8f, 1f);
    public static readonly Rgba HeldOut = new(0.45f, 0.95f, 0.4f);
}

/// <summary>What one overlay frame shows besides the textures already uploaded.</summary>
public sealed record OverlayScene(
    IReadOnlyList<(string Text, Rgba Color)> Hud,
    string Caption,
    string MatrixLabel,
    string StripLabel,
    string LossLabel,
    IReadOnlyList<double> Loss,
    (float X, float Y)? QueryMarker,
    string? Error,
    IReadOnlyList<double>? HeldOut = null);

/// <summary>
/// Draws the overlay into a framebuffer object of its own (a headless context has no other, and a window gets it
/// by a blit): the frame with the heatmap on the left, and on the right the self-similarity matrix of the recent
/// frames, the strip of the newest frame against them, and the loss curve; the HUD text over the frame. All GL
/// calls must come from the thread whose context is current (elsewhere they silently do nothing).
/// </summary>
public sealed unsafe class OverlayRenderer : IDisposable
{
    public const int PanelWidth = 256;
    private const int Floats = 4;   // x, y, u, v per vertex

    private readonly GL _gl;
    private readonly GlyphAtlas _font;
    private readonly uint _fbo, _target, _vao, _vbo;
    private readonly uint _frameTexture, _heatTexture, _matrixTexture, _stripTexture, _atlasTexture;
    private readonly float _opacity;
    private float[] _vertices = new float[4096];
    private int _count;
    private (int W, int H) _heatSize = (1, 1);
    private float _heatLow, _heatHigh = 1;
    private bool _hasHeat;
    private int _matrixSize;
    private float _matrixLow;

    public OverlayRenderer(GL gl, int displayWidth, int displayHeight, string shaderDirectory, double heatmapOpacity)
    {
        _gl = gl;
        _opacity = (float)heatmapOpacity;
        Width = displayWidth + PanelWidth;
        Height = Math.Max(displayHeight, 360);
        DisplayWidth = displayWidth;
        DisplayHeight = displayHeight;
        Shaders = new ShaderLibrary(gl, shaderDirectory);
        _font = GlyphAtlas.Create();

        float px = displayWidth + 8, pw = PanelWidth - 16;
        Frame = new PixelRect(0, 0, displayWidth, displayHeight);
        Matrix = new PixelRect(px + (pw - 160) / 2, 22, 160, 160);
        Strip = new PixelRect(px, 206, pw, 12);
        Loss = new PixelRect(px, 244, pw, Height - 252);

        _target = NewTexture(InternalFormat.Rgba8, Width, Height, PixelFormat.Rgba, PixelType.UnsignedByte, GLEnum.Nearest);
        _fbo = gl.GenFramebuffer();
        gl.BindFramebuffer(FramebufferTarget.Framebuffer, _fbo);
        gl.FramebufferTexture2D(FramebufferTarget.Framebuffer, FramebufferAttachment.ColorAttachment0, TextureTarget.Texture2D, _target, 0);
        var status = gl.CheckFramebufferStatus(FramebufferTarget.Framebuffer);
        if (status != GLEnum.FramebufferComplete) throw new InvalidOperationException($"overlay framebuffer incomplete ({status})");

        _frameTexture = NewTexture(InternalFormat.Rgb8, displayWidth, displayHeight, PixelFormat.Rgb, PixelType.UnsignedByte, GLEnum.Linear);
        _heatTexture = NewTexture(InternalFormat.R32f, 1, 1, PixelFormat.Red, PixelType.Float, GLEnum.Linear);
        _matrixTexture = NewTexture(InternalFormat.R32f, 1, 1, PixelFormat.Red, PixelType.Float, GLEnum.Nearest);
        _stripTexture = NewTexture(InternalFormat.R32f, 1, 1, PixelFormat.Red, PixelType.Float, GLEnum.Nearest);
        _atlasTexture = NewTexture(InternalFormat.R8, _font.Width, _font.Height, PixelFormat.Red, PixelType.UnsignedByte, GLEnum.Nearest);
        gl.PixelStore(PixelStoreParameter.UnpackAlignment, 1);
        gl.BindTexture(TextureTarget.Texture2D, _atlasTexture);
        fixed (byte* p = _font.Coverage)
            gl.TexSubImage2D(TextureTarget.Texture2D, 0, 0, 0, (uint)_font.Width, (uint)_font.Height, PixelFormat.Red, PixelType.UnsignedByte, p);

        _vao = gl.GenVertexArray();
        _vbo = gl.GenBuffer();
        gl.BindVertexArray(_vao);
        gl.BindBuffer(BufferTargetARB.ArrayBuffer, _vbo);
        gl.EnableVertexAttribArray(0);
        gl.VertexAttribPointer(0, 2, VertexAttribPointerType.Float, false, Floats * sizeof(float), (void*)0);
        gl.EnableVertexAttribArray(1);
        gl.VertexAttribPointer(1, 2, VertexAttribPointerType.Float, false, Floats * sizeof(float), (void*)(2 * sizeof(float)));
    }

    /// <summary>The canvas, in pixels.</summary>
    public int Width { get; }
    public int Height { get; }
    public int DisplayWidth { get; }
    public int DisplayHeight { get; }

    public PixelRect Frame { get; }
    public PixelRect Matrix { get; }
    public PixelRect Strip { get; }
    public PixelRect Loss { get; }

    public ShaderLibrary Shaders { get; }
    public string FontFamily => _font.Family;

    public void UploadFrame(DisplayImage image)
    {
        if (image.Width != DisplayWidth || image.Height != DisplayHeight) return;
        _gl.BindTexture(TextureTarget.Texture2D, _frameTexture);
        _gl.PixelStore(PixelStoreParameter.UnpackAlignment, 1);
        fixed (byte* p = image.Rgb)
            _gl.TexSubImage2D(TextureTarget.Texture2D, 0, 0, 0, (uint)image.Width, (uint)image.Height, PixelFormat.Rgb, PixelType.UnsignedByte, p);
    }

    public void UploadHeat(Heatmap heat)
    {
        Upload(_heatTexture, heat.Cells, heat.Width, heat.Height, ref _heatSize);
        (_heatLow, _heatHigh, _hasHeat) = (heat.Low, heat.High, true);
    }

    public void UploadSimilarity(SimilarityHistory history)
    {
        if (history.Count == 0) return;
        var size = (_matrixSize, _matrixSize);
        Upload(_matrixTexture, history.Matrix, history.Count, history.Count, ref size);
        var stripSize = (_matrixSize, 1);
        Upload(_stripTexture, history.Strip, history.Count, 1, ref stripSize);
        _matrixSize = history.Count;
        _matrixLow = Math.Min(history.Matrix.Min(), 0.999f);
    }

    private void Upload(uint texture, float[] values, int width, int height, ref (int W, int H) size)
    {
        _gl.BindTexture(TextureTarget.Texture2D, texture);
        _gl.PixelStore(PixelStoreParameter.UnpackAlignment, 4);
        fixed (float* p = values)
        {
            if (size != (width, height))
            {
                _gl.TexImage2D(TextureTarget.Texture2D, 0, InternalFormat.R32f, (uint)width, (uint)height, 0, PixelFormat.Red, PixelType.Float, p);
                size = (width, height);
            }
            else _gl.TexSubImage2D(TextureTarget.Texture2D, 0, 0, 0, (uint)width, (uint)height, PixelFormat.Red, PixelType.Float, p);
        }
    }

    /// <summary>Draws one overlay frame into the framebuffer object.</summary>
    public void Draw(OverlayScene scene)
    {
        Shaders.ReloadIfChanged();
        var gl = _gl;
        gl.BindFramebuffer(FramebufferTarget.Framebuffer, _fbo);
        gl.Viewport(0, 0, (uint)Width, (uint)Height);
        gl.Disable(EnableCap.DepthTest);
        gl.Enable(EnableCap.Blend);
        // The picture keeps alpha 1 wherever translucent panels are blended over it (recordings and PNGs are opaque).
        gl.BlendFuncSeparate(BlendingFactor.SrcAlpha, BlendingFactor.OneMinusSrcAlpha, BlendingFactor.Zero, BlendingFactor.One);
        gl.ClearColor(0.06f, 0.06f, 0.07f, 1f);
        gl.Clear(ClearBufferMask.ColorBufferBit);
        gl.BindVertexArray(_vao);
        gl.BindBuffer(BufferTargetARB.ArrayBuffer, _vbo);

        uint frame = Use("frame");
        gl.Uniform1(Shaders.Uniform(frame, "uFrame"), 0);
        gl.Uniform1(Shaders.Uniform(frame, "uHeat"), 1);
        gl.Uniform1(Shaders.Uniform(frame, "uLow"), _heatLow);
        gl.Uniform1(Shaders.Uniform(frame, "uHigh"), _heatHigh);
        gl.Uniform1(Shaders.Uniform(frame, "uOpacity"), _hasHeat ? _opacity : 0f);
        Bind(0, _frameTexture);
        Bind(1, _heatTexture);
        Begin();
        Quad(Frame, 0, 0, 1, 1);
        Flush();

        if (_matrixSize > 0)
        {
            uint scalar = Use("scalar");
            gl.Uniform1(Shaders.Uniform(scalar, "uValues"), 0);
            gl.Uniform1(Shaders.Uniform(scalar, "uLow"), _matrixLow);
            gl.Uniform1(Shaders.Uniform(scalar, "uHigh"), 1f);
            gl.Uniform1(Shaders.Uniform(scalar, "uColormap"), 1);
            Bind(0, _matrixTexture);
            Begin();
            Quad(Matrix, 0, 0, 1, 1);
            Flush();
            Bind(0, _stripTexture);
            Begin();
            Quad(Strip, 0, 0, 1, 1);
            Flush();
        }

        int line = _font.CellHeight;
        float hudWidth = scene.Hud.Count == 0 ? 0 : scene.Hud.Max(h => h.Text.Length) * _font.CellWidth + 12;
        Solid(new Rgba(0, 0, 0, 0.6f), q =>
        {
            if (hudWidth > 0) q(new PixelRect(6, 6, hudWidth, scene.Hud.Count * line + 8));
            if (scene.Caption.Length > 0) q(new PixelRect(6, Frame.Height - line - 12, scene.Caption.Length * _font.CellWidth + 12, line + 6));
        });
        Solid(new Rgba(0.11f, 0.11f, 0.13f), q => q(Loss));
        Curve(scene.Loss, Rgba.Accent, rangeRow: 0);
        if (scene.HeldOut is { } heldOut) Curve(heldOut, Rgba.HeldOut, rangeRow: 1);
        if (scene.QueryMarker is { } marker)
        {
            float mx = Frame.X + marker.X * Frame.Width, my = Frame.Y + marker.Y * Frame.Height;
            Solid(new Rgba(1, 1, 1, 0.9f), q =>
            {
                q(new PixelRect(mx - 9, my - 1, 18, 2));
                q(new PixelRect(mx - 1, my - 9, 2, 18));
            });
        }

        for (int i = 0; i < scene.Hud.Count; i++) Text(scene.Hud[i].Text, 12, 10 + i * line, scene.Hud[i].Color);
        Text(scene.Caption, 12, Frame.Height - line - 9, Rgba.White);
        Text(scene.MatrixLabel, Strip.X, Matrix.Y - line - 3, Rgba.Dim);
        Text(scene.StripLabel, Strip.X, Strip.Y - line - 3, Rgba.Dim);
        Text(scene.LossLabel, Loss.X, Loss.Y - line - 3, Rgba.Dim);
        if (scene.Error is { } error)
        {
            int columns = Math.Max(8, (int)(Frame.Width - 24) / _font.CellWidth);
            var lines = Wrap(error, columns).Take(4).ToList();
            float top = Frame.Height - (lines.Count + 2) * line - 12;
            Solid(new Rgba(0.25f, 0, 0, 0.85f), q => q(new PixelRect(6, top - 4, Frame.Width - 12, lines.Count * line + 8)));
            for (int i = 0; i < lines.Count; i++) Text(lines[i], 12, top + i * line, Rgba.Warning);
        }
    }

    /// <summary>The canvas as RGBA bytes, top row first.</summary>
    public void ReadPixels(byte[] rgba)
    {
        if (rgba.Length < Width * Height * 4) throw new ArgumentException("buffer too small", nameof(rgba));
        _gl.BindFramebuffer(FramebufferTarget.Framebuffer, _fbo);
        _gl.PixelStore(PixelStoreParameter.PackAlignment, 1);
        fixed (byte* p = rgba) _gl.ReadPixels(0, 0, (uint)Width, (uint)Height, PixelFormat.Rgba, PixelType.UnsignedByte, p);
    }

    /// <summary>Copies the canvas into the window's framebuffer, scaled to its size (rows flipped: the canvas is stored top row first).</summary>
    public void BlitTo((int Width, int Height) shown)
    {
        _gl.BindFramebuffer(FramebufferTarget.ReadFramebuffer, _fbo);
        _gl.BindFramebuffer(FramebufferTarget.DrawFramebuffer, 0);
        _gl.Viewport(0, 0, (uint)shown.Width, (uint)shown.Height);
        _gl.ClearColor(0, 0, 0, 1);
        _gl.Clear(ClearBufferMask.ColorBufferBit);
        _gl.BlitFramebuffer(0, 0, Width, Height, 0, shown.Height, shown.Width, 0, ClearBufferMask.ColorBufferBit, BlitFramebufferFilter.Linear);
        _gl.BindFramebuffer(FramebufferTarget.Framebuffer, _fbo);
    }

    /// <summary>Waits until the GPU has drawn everything asked so far (for honest timings).</summary>
    public void Finish() => _gl.Finish();

    /// <summary>A curve across the loss panel on its own scale, its range printed in its colour at the right (one row per curve).</summary>
    private void Curve(IReadOnlyList<double> series, Rgba color, int rangeRow)
    {
        var values = series.Where(double.IsFinite).ToList();
        if (values.Count < 2) return;
        double low = values.Min(), high = values.Max();
        if (high - low < 1e-9) (low, high) = (low - 0.5, high + 0.5);
        var r = Loss;
        float X(int i) => r.X + 4 + (r.Width - 8) * i / (values.Count - 1);
        float Y(double v) => (float)(r.Y + 4 + (r.Height - 8) * (1 - (v - low) / (high - low)));
        Solid(color, _ =>
        {
            for (int i = 1; i < values.Count; i++) Segment(X(i - 1), Y(values[i - 1]), X(i), Y(values[i]), 1.5f);
        });
        string range = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{low:0.###}-{high:0.###}");
        Text(range, r.X + r.Width - range.Length * _font.CellWidth - 4, r.Y + 2 + rangeRow * _font.CellHeight, rangeRow == 0 ? Rgba.Dim : color);
    }

    private void Solid(Rgba color, Action<Action<PixelRect>> shapes)
    {
        uint solid = Use("solid");
        _gl.Uniform4(Shaders.Uniform(solid, "uColor"), color.R, color.G, color.B, color.A);
        Begin();
        shapes(rect => Quad(rect, 0, 0, 0, 0));
        Flush();
    }

    private void Text(string text, float x, float y, Rgba color)
    {
        if (text.Length == 0) return;
        uint program = Use("text");
        _gl.Uniform1(Shaders.Uniform(program, "uAtlas"), 0);
        _gl.Uniform4(Shaders.Uniform(program, "uColor"), color.R, color.G, color.B, color.A);
        Bind(0, _atlasTexture);
        Begin();
        float cw = _font.CellWidth, ch = _font.CellHeight;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == ' ') continue;
            var (cx, cy) = _font.Cell(text[i]);
            Quad(new PixelRect(MathF.Round(x) + i * cw, MathF.Round(y), cw, ch),
                cx / (float)_font.Width, cy / (float)_font.Height, (cx + cw) / _font.Width, (cy + ch) / _font.Height);
        }
        Flush();
    }

    private static IEnumerable<string> Wrap(string text, int columns)
    {
        foreach (var raw in text.Split('\n'))
            for (int i = 0; i < raw.Length; i += columns) yield return raw.Substring(i, Math.Min(columns, raw.Length - i));
    }

    private uint Use(string program)
    {
        uint handle = Shaders[program];
        _gl.UseProgram(handle);
        _gl.Uniform2(Shaders.Uniform(handle, "uCanvas"), (float)Width, Height);
        return handle;
    }

    private void Bind(int unit, uint texture)
    {
        _gl.ActiveTexture(TextureUnit.Texture0 + unit);
        _gl.BindTexture(TextureTarget.Texture2D, texture);
    }

    private void Begin() => _count = 0;

    private void Flush()
    {
        if (_count == 0) return;
        fixed (float* p = _vertices)
            _gl.BufferData(BufferTargetARB.ArrayBuffer, (nuint)(_count * sizeof(float)), p, BufferUsageARB.StreamDraw);
        _gl.DrawArrays(PrimitiveType.Triangles, 0, (uint)(_count / Floats));
    }

    private void Quad(PixelRect r, float u0, float v0, float u1, float v1)
    {
        Vertex(r.X, r.Y, u0, v0);
        Vertex(r.X + r.Width, r.Y, u1, v0);
        Vertex(r.X, r.Y + r.Height, u0, v1);
        Vertex(r.X + r.Width, r.Y, u1, v0);
        Vertex(r.X + r.Width, r.Y + r.Height, u1, v1);
        Vertex(r.X, r.Y + r.Height, u0, v1);
    }

    /// <summary>A line segment as a quad (core profile has no wide lines).</summary>
    private void Segment(float x0, float y0, float x1, float y1, float halfWidth)
    {
        float dx = x1 - x0, dy = y1 - y0, length = MathF.Max(1e-4f, MathF.Sqrt(dx * dx + dy * dy));
        float nx = -dy / length * halfWidth, ny = dx / length * halfWidth;
        Vertex(x0 + nx, y0 + ny, 0, 0);
        Vertex(x1 + nx, y1 + ny, 0, 0);
        Vertex(x0 - nx, y0 - ny, 0, 0);
        Vertex(x1 + nx, y1 + ny, 0, 0);
        Vertex(x1 - nx, y1 - ny, 0, 0);
        Vertex(x0 - nx, y0 - ny, 0, 0);
    }

    private void Vertex(float x, float y, float u, float v)
    {
        if (_count + Floats > _vertices.Length) Array.Resize(ref _vertices, _vertices.Length * 2);
        _vertices[_count++] = x;
        _vertices[_count++] = y;
        _vertices[_count++] = u;
        _vertices[_count++] = v;
    }

    private uint NewTexture(InternalFormat format, int width, int height, PixelFormat pixels, PixelType type, GLEnum filter)
    {
        uint texture = _gl.GenTexture();
        _gl.BindTexture(TextureTarget.Texture2D, texture);
        _gl.TexImage2D(TextureTarget.Texture2D, 0, format, (uint)width, (uint)height, 0, pixels, type, null);
        _gl.TexParameter(TextureTarget.Texture2D, TextureParameterName.TextureMinFilter, (int)filter);
        _gl.TexParameter(TextureTarget.Texture2D, TextureParameterName.TextureMagFilter, (int)filter);
        _gl.TexParameter(TextureTarget.Texture2D, TextureParameterName.TextureWrapS, (int)GLEnum.ClampToEdge);
        _gl.TexParameter(TextureTarget.Texture2D, TextureParameterName.TextureWrapT, (int)GLEnum.ClampToEdge);
        return texture;
    }

    public void Dispose()
    {
        Shaders.Dispose();
        _gl.DeleteFramebuffer(_fbo);
        foreach (var texture in new[] { _target, _frameTexture, _heatTexture, _matrixTexture, _stripTexture, _atlasTexture }) _gl.DeleteTexture(texture);
        _gl.DeleteBuffer(_vbo);
        _gl.DeleteVertexArray(_vao);
    }
}
