using System.Diagnostics;
using VideoSsl.Messages.Overlay;
using VideoSsl.Rendering.Gl;
using VideoSsl.Rendering.Surfaces;

namespace VideoSsl.Rendering.Overlay;

/// <summary>The overlay alone, headless: frames per second with a new frame, heatmap and similarity matrix each frame, read back as a recording does.</summary>
public sealed record RenderBench(string? Skipped, string Renderer, int Width, int Height, int Frames, double WallSeconds)
{
    public double FramesPerSecond => Frames / WallSeconds;
    public double MillisecondsPerFrame => WallSeconds * 1000 / Frames;
}

public static class RenderBenchmark
{
    /// <summary>Renders <paramref name="frames"/> overlay frames at the given display size on a headless context (after a warm-up).</summary>
    public static RenderBench Measure(int displayWidth, int displayHeight, int frames)
    {
        EglSurface surface;
        try
        {
            surface = EglSurface.Open();
        }
        catch (RenderUnavailableException e)
        {
            return new RenderBench($"not measured: no headless OpenGL ({e.Message})", "", 0, 0, 0, 1);
        }
        using (surface)
        using (var renderer = new OverlayRenderer(surface.Gl, displayWidth, displayHeight, ShaderLibrary.FindDefault(), 0.55))
        {
            var random = new Random(7);
            var images = Enumerable.Range(0, 8).Select(_ =>
            {
                var rgb = new byte[displayWidth * displayHeight * 3];
                random.NextBytes(rgb);
                return new DisplayImage(rgb, displayWidth, displayHeight, 0);
            }).ToArray();
            const int n = 64;
            var matrix = new float[n * n];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < n; j++)
                    matrix[i * n + j] = 1f - 0.01f * Math.Abs(i - j);
            var loss = Enumerable.Range(0, 400).Select(i => 1.2 * Math.Exp(-i / 100.0) + 0.05 * random.NextDouble()).ToList();
            var hud = Enumerable.Range(0, 7).Select(i => ($"decode  {400 + i} f/s  queue   3  dropped 0 ({i})", Rgba.White)).ToList();
            var scene = new OverlayScene(hud, "query: the clicked spot  [H]", "self-similarity, last 64 (2.1 s)", "newest frame against each of them",
                "loss_norm 0.620 (1 = chance)", loss, (0.4f, 0.6f), null);
            var pixels = new byte[renderer.Width * renderer.Height * 4];

            void Frame(int index)
            {
                renderer.UploadFrame(images[index % images.Length]);
                var cells = new float[6 * 6];
                for (int c = 0; c < cells.Length; c++) cells[c] = (float)random.NextDouble();
                renderer.UploadHeat(new Heatmap(cells, 6, 6, HeatmapMode.Query, 0, 1, ""));
                renderer.UploadSimilarity(new SimilarityHistory(matrix, matrix[((n - 1) * n)..], n, 2));
                renderer.Draw(scene);
                renderer.ReadPixels(pixels);
            }

            for (int i = 0; i < 20; i++) Frame(i);
            var clock = Stopwatch.StartNew();
            for (int i = 0; i < frames; i++) Frame(i);
            return new RenderBench(null, GlInfo.Renderer(surface.Gl), renderer.Width, renderer.Height, frames, clock.Elapsed.TotalSeconds);
        }
    }
}
