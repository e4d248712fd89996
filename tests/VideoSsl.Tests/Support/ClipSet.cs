namespace VideoSsl.Tests.Support;

/// <summary>Clips shared by a test class: made once, deleted at the end.</summary>
public sealed class ClipSet : IDisposable
{
    private readonly TempFolder _folder = new("clips");

    public ClipSet()
    {
        Directory.CreateDirectory(Pair);
        TestSrc = Clips.Make(Path.Combine(Pair, "testsrc.mp4"), "testsrc", 20);
        Mandelbrot = Clips.Make(Path.Combine(Pair, "mandelbrot.mp4"), "mandelbrot", 20);
        Red = Clips.Make(_folder["red.mp4"], "color=c=red:size=64x48:rate=10", 1, "-c:v libx264 -preset ultrafast -pix_fmt yuv444p -qp 0");
    }

    public string Root => _folder.Path;

    /// <summary>A folder holding two 20 s clips at 25 frames/s.</summary>
    public string Pair => _folder["pair"];

    public string TestSrc { get; }
    public string Mandelbrot { get; }

    /// <summary>One second of pure red, losslessly coded.</summary>
    public string Red { get; }

    public void Dispose() => _folder.Dispose();
}
