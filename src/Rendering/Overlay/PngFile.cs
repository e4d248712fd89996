using SkiaSharp;

namespace VideoSsl.Rendering.Overlay;

/// <summary>Writes RGBA pixels (top row first) as a PNG with SkiaSharp.</summary>
public static class PngFile
{
    public static void Write(string path, byte[] rgba, int width, int height)
    {
        VideoSsl.Engine.OutputFolder.For(path, $"image '{path}'");
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        System.Runtime.InteropServices.Marshal.Copy(rgba, 0, bitmap.GetPixels(), width * height * 4);
        using var data = bitmap.Encode(SKEncodedImageFormat.Png, 100);
        string temporary = path + ".tmp";
        using (var file = File.Create(temporary)) data.SaveTo(file);
        File.Move(temporary, path, overwrite: true);
    }
}
