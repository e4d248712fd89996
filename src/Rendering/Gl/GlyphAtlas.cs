using SkiaSharp;

namespace VideoSsl.Rendering.Gl;

/// <summary>
/// Printable ASCII rasterised once by SkiaSharp from a monospace font into a one-channel coverage bitmap, one cell
/// per character; text is then quads with texture coordinates into it.
/// </summary>
public sealed class GlyphAtlas
{
    private const char First = ' ', Last = '~';
    private const int Columns = 16;

    private GlyphAtlas(byte[] coverage, int width, int height, int cellWidth, int cellHeight, string family)
    {
        Coverage = coverage;
        Width = width;
        Height = height;
        CellWidth = cellWidth;
        CellHeight = cellHeight;
        Family = family;
    }

    public byte[] Coverage { get; }
    public int Width { get; }
    public int Height { get; }

    /// <summary>Advance per character (monospace) and line height, in pixels.</summary>
    public int CellWidth { get; }
    public int CellHeight { get; }

    public string Family { get; }

    public static GlyphAtlas Create(float size = 12)
    {
        using var typeface = SKTypeface.FromFamilyName("DejaVu Sans Mono") ?? SKTypeface.FromFamilyName("monospace") ?? SKTypeface.Default;
        using var font = new SKFont(typeface, size) { Edging = SKFontEdging.Antialias, Hinting = SKFontHinting.Full };
        int cellWidth = (int)Math.Ceiling(font.MeasureText("M"));
        var metrics = font.Metrics;
        int cellHeight = (int)Math.Ceiling(metrics.Descent - metrics.Ascent) + 1;
        int count = Last - First + 1, rows = (count + Columns - 1) / Columns;
        int width = Columns * cellWidth, height = rows * cellHeight;
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Alpha8, SKAlphaType.Premul));
        using (var canvas = new SKCanvas(bitmap))
        using (var paint = new SKPaint { Color = SKColors.White, IsAntialias = true })
        {
            canvas.Clear(SKColors.Transparent);
            for (int i = 0; i < count; i++)
            {
                float x = i % Columns * cellWidth, y = i / Columns * cellHeight - metrics.Ascent;
                canvas.DrawText(((char)(First + i)).ToString(), x, y, SKTextAlign.Left, font, paint);
            }
        }
        var coverage = new byte[width * height];
        var pixels = bitmap.GetPixelSpan();
        for (int y = 0; y < height; y++) pixels.Slice(y * bitmap.RowBytes, width).CopyTo(coverage.AsSpan(y * width, width));
        return new GlyphAtlas(coverage, width, height, cellWidth, cellHeight, typeface.FamilyName);
    }

    /// <summary>The atlas cell of <paramref name="c"/> (a '?' for characters outside printable ASCII), in pixels.</summary>
    public (int X, int Y) Cell(char c)
    {
        int index = (c < First || c > Last ? '?' : c) - First;
        return (index % Columns * CellWidth, index / Columns * CellHeight);
    }
}
