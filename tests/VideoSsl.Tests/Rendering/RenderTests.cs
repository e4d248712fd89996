using VideoSsl.Messages.Overlay;
using VideoSsl.Rendering.Gl;
using VideoSsl.Rendering.Overlay;
using VideoSsl.Rendering.Surfaces;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Rendering;

/// <summary>
/// Offscreen pixel tests in the manner of Veldrid's render tests: known inputs drawn headless on a real context
/// (Mesa llvmpipe here), the pixels read back and checked at known places. A failing case leaves its PNG in the
/// test output folder.
/// </summary>
[Trait("Category", "Rendering")]
public sealed class RenderTests : IDisposable
{
    private const int DisplayWidth = 320, DisplayHeight = 180;
    private readonly EglSurface _surface = EglSurface.Open();
    private readonly OverlayRenderer _renderer;

    public RenderTests() => _renderer = new OverlayRenderer(_surface.Gl, DisplayWidth, DisplayHeight, ShaderLibrary.FindDefault(), heatmapOpacity: 1);

    public void Dispose()
    {
        _renderer.Dispose();
        _surface.Dispose();
    }

    private static readonly OverlayScene Empty = new([], "", "", "", "", [], null, null);

    private byte[] Draw(OverlayScene? scene = null, string? name = null)
    {
        _renderer.Draw(scene ?? Empty);
        var pixels = new byte[_renderer.Width * _renderer.Height * 4];
        _renderer.ReadPixels(pixels);
        if (name is not null) PngFile.Write(Path.Combine(AppContext.BaseDirectory, "render-tests", name + ".png"), pixels, _renderer.Width, _renderer.Height);
        return pixels;
    }

    private (double R, double G, double B) At(byte[] pixels, double x, double y)
    {
        int i = ((int)y * _renderer.Width + (int)x) * 4;
        return (pixels[i] / 255.0, pixels[i + 1] / 255.0, pixels[i + 2] / 255.0);
    }

    private static void Near((double R, double G, double B) expected, (double R, double G, double B) actual, double tolerance = 2.5 / 255)
    {
        Assert.True(Math.Abs(expected.R - actual.R) <= tolerance && Math.Abs(expected.G - actual.G) <= tolerance && Math.Abs(expected.B - actual.B) <= tolerance,
            $"expected {expected}, got {actual}");
    }

    private static double Luminance((double R, double G, double B) c) => 0.2126 * c.R + 0.7152 * c.G + 0.0722 * c.B;

    private static DisplayImage Solid(byte r, byte g, byte b)
    {
        var rgb = new byte[DisplayWidth * DisplayHeight * 3];
        for (int i = 0; i < rgb.Length; i += 3) (rgb[i], rgb[i + 1], rgb[i + 2]) = (r, g, b);
        return new DisplayImage(rgb, DisplayWidth, DisplayHeight, 0);
    }

    [Fact]
    public void The_frame_is_drawn_upright_where_its_rectangle_is()
    {
        var rgb = new byte[DisplayWidth * DisplayHeight * 3];
        for (int y = 0; y < DisplayHeight; y++)
            for (int x = 0; x < DisplayWidth; x++)
            {
                int i = (y * DisplayWidth + x) * 3;
                if (y < DisplayHeight / 2) rgb[i] = 255;       // top half red
                else rgb[i + 2] = 255;                          // bottom half blue
            }
        _renderer.UploadFrame(new DisplayImage(rgb, DisplayWidth, DisplayHeight, 0));
        var pixels = Draw(name: "frame");
        Near((1, 0, 0), At(pixels, 200, 40));
        Near((0, 0, 1), At(pixels, 200, 150));
        Assert.True(Luminance(At(pixels, DisplayWidth + 4, 100)) < 0.1);   // the side panel is not the frame
    }

    [Fact]
    public void The_colour_maps_end_points_are_right()
    {
        // turbo over the frame (opacity 1): two cells, 0 on the left, 1 on the right; their outer quarters are exact.
        _renderer.UploadFrame(Solid(0, 0, 0));
        _renderer.UploadHeat(new Heatmap([0f, 1f], 2, 1, HeatmapMode.Query, 0f, 1f, ""));
        // viridis in the matrix: the lowest value maps to its cold end and 1 to its hot end.
        _renderer.UploadSimilarity(new SimilarityHistory([1f, 0.2f, 0.2f, 1f], [0.2f, 1f], 2, 1));
        var pixels = Draw(name: "colormaps");

        Near(Colormaps.Turbo(0), At(pixels, 10, 90));
        Near(Colormaps.Turbo(1), At(pixels, DisplayWidth - 10, 90));
        var (r, g, b) = At(pixels, DisplayWidth - 10, 90);
        Assert.True(r > 0.45 && b < 0.1, "turbo's hot end is a dark red");

        var m = _renderer.Matrix;
        Near(Colormaps.Viridis(1), At(pixels, m.X + m.Width / 4, m.Y + m.Height / 4));
        Near(Colormaps.Viridis(0), At(pixels, m.X + 3 * m.Width / 4, m.Y + m.Height / 4));
        // and the polynomials are the published maps (matplotlib's viridis ends).
        Near((0.267, 0.005, 0.329), Colormaps.Viridis(0), 0.02);
        Near((0.993, 0.906, 0.144), Colormaps.Viridis(1), 0.02);
    }

    [Fact]
    public void A_heatmap_with_one_hot_cell_is_hot_there_and_cold_far_away()
    {
        var cells = new float[5 * 5];
        cells[2 * 5 + 3] = 1f;   // row 2, column 3
        _renderer.UploadFrame(Solid(0, 0, 0));
        _renderer.UploadHeat(new Heatmap(cells, 5, 5, HeatmapMode.Query, 0f, 1f, ""));
        var pixels = Draw(name: "hot-cell");

        var hot = At(pixels, (3 + 0.5) * DisplayWidth / 5, (2 + 0.5) * DisplayHeight / 5);
        Near(Colormaps.Turbo(1), hot, 4.0 / 255);
        Near(Colormaps.Turbo(0), At(pixels, 0.5 * DisplayWidth / 5, 4.5 * DisplayHeight / 5));
        // bilinear: halfway to the next cell it is neither
        var between = At(pixels, 4.0 * DisplayWidth / 5, 2.5 * DisplayHeight / 5);
        Assert.NotEqual(Colormaps.Turbo(1).R, between.R, 2);
    }

    [Fact]
    public void The_self_similarity_matrix_is_brightest_on_its_diagonal()
    {
        const int n = 8;
        var matrix = new float[n * n];
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                matrix[i * n + j] = 1f - 0.1f * Math.Abs(i - j);
        _renderer.UploadSimilarity(new SimilarityHistory(matrix, matrix[((n - 1) * n)..], n, 4));
        var pixels = Draw(name: "self-similarity");

        var m = _renderer.Matrix;
        double Cell(int i, int j) => Luminance(At(pixels, m.X + (j + 0.5) * m.Width / n, m.Y + (i + 0.5) * m.Height / n));
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++)
                if (i != j) Assert.True(Cell(i, i) > Cell(i, j), $"diagonal ({i},{i}) is not brighter than ({i},{j})");
        // the strip is the newest row: its right end (the newest frame itself) is the brightest
        var s = _renderer.Strip;
        Assert.True(Luminance(At(pixels, s.X + s.Width - 2, s.Y + s.Height / 2)) > Luminance(At(pixels, s.X + 2, s.Y + s.Height / 2)));
    }

    [Fact]
    public void Hud_text_and_the_loss_curve_are_drawn()
    {
        _renderer.UploadFrame(Solid(0, 0, 0));
        var blank = Draw();
        var scene = Empty with { Hud = [("step 123 loss 0.5", Rgba.White)], Loss = [3, 2, 1.5, 1.2, 1.0] };
        var pixels = Draw(scene, "hud");

        int changed = 0;
        for (int y = 8; y < 28; y++)
            for (int x = 10; x < 150; x++)
                if (Luminance(At(pixels, x, y)) > Luminance(At(blank, x, y)) + 0.3) changed++;
        Assert.True(changed > 40, $"only {changed} bright text pixels");
        var l = _renderer.Loss;
        int curve = 0;
        for (int y = (int)l.Y; y < l.Y + l.Height; y++)
            for (int x = (int)l.X + 40; x < l.X + l.Width; x++)
                if (At(pixels, x, y).B > 0.7) curve++;
        Assert.True(curve > 50, $"only {curve} curve pixels");
    }

    [Fact]
    public void The_held_out_curve_is_drawn_in_its_own_colour_beside_the_loss_and_only_when_measured()
    {
        _renderer.UploadFrame(Solid(0, 0, 0));
        var l = _renderer.Loss;
        int Green(byte[] pixels)
        {
            int count = 0;
            for (int y = (int)l.Y; y < l.Y + l.Height; y++)
                for (int x = (int)l.X + 4; x < l.X + l.Width - 4; x++)
                    if (At(pixels, x, y) is var c && c.G > 0.7 && c.B < 0.6 && c.R < 0.6) count++;
            return count;
        }
        var lossOnly = Empty with { Loss = [3, 2, 1.5, 1.2, 1.0] };
        Assert.True(Green(Draw(lossOnly)) < 5, "green pixels without a held-out measurement");
        // Rising AUC while the loss falls: the two curves cross the panel in opposite directions.
        var pixels = Draw(lossOnly with { HeldOut = [0.90, 0.92, 0.95, 0.96] }, "held-out");
        Assert.True(Green(pixels) > 50, $"only {Green(pixels)} held-out curve pixels");
        int GreenRow(int column)
        {
            for (int y = (int)l.Y; y < l.Y + l.Height; y++)
                if (At(pixels, column, y) is var c && c.G > 0.7 && c.B < 0.6 && c.R < 0.6) return y;
            return -1;
        }
        int left = GreenRow((int)(l.X + 8)), right = GreenRow((int)(l.X + l.Width - 8));
        Assert.True(left > 0 && right > 0 && right < left, $"the held-out curve should rise from left ({left}) to right ({right})");
    }

    [Fact]
    public void A_shader_edited_while_running_is_reloaded_and_a_broken_one_keeps_the_old_program()
    {
        using var folder = new TempFolder("shaders");
        foreach (var file in Directory.GetFiles(ShaderLibrary.FindDefault())) File.Copy(file, Path.Combine(folder.Path, Path.GetFileName(file)));
        using var renderer = new OverlayRenderer(_surface.Gl, DisplayWidth, DisplayHeight, folder.Path, 1);
        string solid = Path.Combine(folder.Path, "solid.frag");
        string original = File.ReadAllText(solid);

        File.WriteAllText(solid, original.Replace("outColor = uColor;", "outColor = uColor * 0.0 + vec4(0.0, 1.0, 0.0, 1.0);").Replace("uniform vec4 uColor;", "uniform vec4 uColor;\nin vec2 vUv;"));
        File.SetLastWriteTimeUtc(solid, DateTime.UtcNow.AddSeconds(5));
        Thread.Sleep(600);
        renderer.Draw(Empty);
        Assert.Null(renderer.Shaders.Error);
        Assert.Equal(1, renderer.Shaders.Reloads);
        var pixels = new byte[renderer.Width * renderer.Height * 4];
        renderer.ReadPixels(pixels);
        var l = renderer.Loss;
        int i = ((int)(l.Y + l.Height / 2) * renderer.Width + (int)(l.X + l.Width / 2)) * 4;
        Assert.Equal((0, 255, 0), (pixels[i], pixels[i + 1], pixels[i + 2]));   // the loss panel now comes out green

        File.WriteAllText(solid, "#version 330 core\nthis is not glsl;\n");
        File.SetLastWriteTimeUtc(solid, DateTime.UtcNow.AddSeconds(10));
        Thread.Sleep(600);
        renderer.Draw(Empty);
        Assert.Contains("solid.frag", renderer.Shaders.Error);
        Assert.Equal(1, renderer.Shaders.Reloads);
        renderer.ReadPixels(pixels);
        Assert.Equal((0, 255, 0), (pixels[i], pixels[i + 1], pixels[i + 2]));   // the last good program still draws
    }
}
