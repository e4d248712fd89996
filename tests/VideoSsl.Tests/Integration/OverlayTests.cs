using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using SkiaSharp;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Integration;

/// <summary>The overlay in real runs: headless with a recording, a window under Xvfb, and the fallbacks when a display or EGL is missing.</summary>
[Trait("Category", "Integration")]
public sealed partial class OverlayTests
{
    private static readonly Dictionary<string, string?> NoDisplay = new() { ["DISPLAY"] = null, ["WAYLAND_DISPLAY"] = null };

    [Fact]
    public void Train_headless_records_a_video_with_as_many_frames_as_it_rendered()
    {
        using var folder = new TempFolder("overlay");
        string clip = Clips.Make(folder["clip.mp4"], "testsrc", 14);
        var result = VideoSslProcess.Run(folder.Path, "train", "--backbone", "small", "--source", clip, "--out", folder["run"], "--max-frames", "300",
            "--view", "headless", "--record", folder["o.mp4"], "--snapshot-every", "5", "--snapshot-dir", folder["snaps"]);
        Assert.True(result.ExitCode == 0, result.ToString());

        var line = OverlayLine().Match(result.Stdout);
        Assert.True(line.Success, result.ToString());
        long rendered = long.Parse(line.Groups[1].Value), recorded = long.Parse(line.Groups[2].Value);
        Assert.True(rendered > 0);
        Assert.Equal(rendered, recorded);
        Assert.Equal(rendered, Clips.CountFrames(folder["o.mp4"]));
        using var summary = JsonDocument.Parse(File.ReadAllText(folder["run/summary.json"]));
        Assert.Equal(rendered, summary.RootElement.GetProperty("overlay").GetProperty("frames-rendered").GetInt64());
        Assert.Equal(rendered / 5, Directory.GetFiles(folder["snaps"], "*.png").Length);
        Assert.Contains("view: headless (EGL", result.Stderr);
    }

    [Fact]
    public void Without_a_display_auto_draws_headless_and_an_explicit_window_is_a_one_line_error()
    {
        using var folder = new TempFolder("overlay");
        string clip = Clips.Make(folder["clip.mp4"], "testsrc", 4);
        var auto = VideoSslProcess.Run(folder.Path, TimeSpan.FromMinutes(3), NoDisplay, "train", "--backbone", "small", "--source", clip, "--out", folder["auto"], "--max-frames", "50", "--view", "auto");
        Assert.True(auto.ExitCode == 0, auto.ToString());
        Assert.Contains("view: headless (window: no display", auto.Stderr);

        var window = VideoSslProcess.Run(folder.Path, TimeSpan.FromMinutes(3), NoDisplay, "train", "--backbone", "small", "--source", clip, "--out", folder["window"], "--max-frames", "50", "--view", "window");
        Assert.Equal(1, window.ExitCode);
        Assert.Equal(["error: train: --view window cannot start: no display (DISPLAY is not set)"], window.StderrLines);
        Assert.False(Directory.Exists(folder["window"]));
    }

    [Fact]
    public void A_broken_egl_library_means_no_rendering_under_auto_and_an_error_when_headless_is_asked_for()
    {
        using var folder = new TempFolder("overlay");
        string clip = Clips.Make(folder["clip.mp4"], "testsrc", 4);
        string broken = Clips.RandomBytes(folder["libEGL.so.1"]);
        var environment = new Dictionary<string, string?>(NoDisplay) { ["VIDEOSSL_EGL_LIBRARY"] = broken };

        // Small batches close together, so that the run trains within its 50 frames (a run that trains nothing fails).
        var auto = VideoSslProcess.Run(folder.Path, TimeSpan.FromMinutes(3), environment, "train", "--backbone", "small", "--source", clip, "--out", folder["auto"], "--max-frames", "50", "--view", "auto",
            "--batch", "4", "--neg-gap", "0.5", "--pos-window", "0.2");
        Assert.True(auto.ExitCode == 0, auto.ToString());
        Assert.Contains("view: no rendering; the run goes on without the overlay", auto.Stderr);
        Assert.Contains("could not be loaded", auto.Stderr);

        var headless = VideoSslProcess.Run(folder.Path, TimeSpan.FromMinutes(3), environment, "train", "--backbone", "small", "--source", clip, "--out", folder["headless"], "--max-frames", "50", "--view", "headless");
        Assert.Equal(1, headless.ExitCode);
        var error = Assert.Single(headless.StderrLines);
        Assert.StartsWith("error: train: --view headless cannot start: ", error);

        var record = VideoSslProcess.Run(folder.Path, TimeSpan.FromMinutes(3), environment, "train", "--backbone", "small", "--source", clip, "--out", folder["record"], "--view", "auto", "--record", folder["o.mp4"]);
        Assert.Equal(1, record.ExitCode);
        Assert.Contains("error: train: --record and --snapshot-every need a renderer", record.Stderr);
    }

    [Fact]
    public void Demo_under_xvfb_shows_frame_heatmap_matrix_and_hud_in_a_window()
    {
        using var folder = new TempFolder("overlay");
        string clip = Clips.Make(folder["clip.mp4"], "testsrc", 20);
        string shot = folder["screen.png"];
        string preload = Environment.GetEnvironmentVariable("VIDEOSSL_PRELOAD") is { Length: > 0 } p ? $"LD_PRELOAD={p} " : "";
        string program = Path.Combine(AppContext.BaseDirectory, "videossl.dll");
        // The program draws into a window on a virtual X screen; FFmpeg grabs the screen itself (not the program's
        // own read-back), so the picture is what a person would see.
        string script = $"""
            {preload}dotnet '{program}' demo '{clip}' --out '{folder["run"]}' --max-seconds 12 > '{folder["out.txt"]}' 2> '{folder["err.txt"]}' &
            pid=$!
            sleep 9
            ffmpeg -v error -nostdin -f x11grab -video_size 1280x720 -i "$DISPLAY" -frames:v 1 -y '{shot}'
            wait $pid
            """;
        var (exit, _, stderr) = Tool.Run("xvfb-run", "-a", "-s", "-screen 0 1280x720x24", "bash", "-c", script);
        string log = File.ReadAllText(folder["err.txt"]);
        Assert.True(exit == 0, $"exit {exit}: {stderr}\n{log}");
        Assert.Contains("view: window (GLFW)", log);
        Assert.Contains("overlay:", File.ReadAllText(folder["out.txt"]));

        using var screen = SKBitmap.Decode(shot);
        Assert.NotNull(screen);
        // The window sits at the top left of the screen: 640 + 256 wide, 480 high (4:3 clip at 640 wide).
        var frameColours = new HashSet<SKColor>();
        for (int y = 130; y < 400; y += 7)
            for (int x = 20; x < 620; x += 7)
                frameColours.Add(screen.GetPixel(x, y));
        Assert.True(frameColours.Count > 50, $"the frame area has only {frameColours.Count} colours");
        int hudText = 0;
        for (int y = 8; y < 40; y++)
            for (int x = 8; x < 200; x++)
                if (screen.GetPixel(x, y) is { Red: > 200, Green: > 200, Blue: > 200 }) hudText++;
        Assert.True(hudText > 30, $"only {hudText} white HUD pixels");
        int matrix = 0;
        for (int y = 30; y < 170; y += 2)
            for (int x = 700; x < 840; x += 2)
                if (screen.GetPixel(x, y) is { Green: > 100 } c && c.Green > c.Blue / 2) matrix++;
        Assert.True(matrix > 100, $"only {matrix} self-similarity pixels");
        Assert.Equal(SKColors.Black, screen.GetPixel(1100, 600));   // outside the window
    }

    [Fact]
    public void Demo_without_training_shows_a_checkpoint_and_leaves_it_unchanged()
    {
        using var folder = new TempFolder("overlay");
        string clip = Clips.Make(folder["clip.mp4"], "mandelbrot", 12);
        var train = VideoSslProcess.Run(folder.Path, "train", "--backbone", "small", "--source", clip, "--out", folder["run"], "--max-steps", "5", "--neg-gap", "1", "--batch", "8");
        Assert.True(train.ExitCode == 0, train.ToString());
        var checkpoints = Directory.GetFiles(folder["run"], "*.ckpt", SearchOption.AllDirectories).ToDictionary(f => f, f => Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(f))));

        var demo = VideoSslProcess.Run(folder.Path, "demo", clip, "--checkpoint", folder["run"], "--no-train", "--view", "headless",
            "--max-seconds", "4", "--snapshot-every", "20", "--snapshot-dir", folder["snaps"]);
        Assert.True(demo.ExitCode == 0, demo.ToString());
        var shown = ShownLine().Match(demo.Stdout);
        Assert.True(shown.Success, demo.ToString());
        Assert.True(long.Parse(shown.Groups[1].Value) > 0 && long.Parse(shown.Groups[2].Value) > 0, demo.Stdout);
        Assert.NotEmpty(Directory.GetFiles(folder["snaps"], "*.png"));
        foreach (var (path, hash) in checkpoints) Assert.Equal(hash, Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(path))));
        Assert.Equal(checkpoints.Count, Directory.GetFiles(folder["run"], "*.ckpt", SearchOption.AllDirectories).Length);
    }

    [GeneratedRegex(@"overlay:\s+(\d+) frames rendered .*; (\d+) recorded to")]
    private static partial Regex OverlayLine();

    [GeneratedRegex(@"on (\d+) frames \((\d+) probed\)")]
    private static partial Regex ShownLine();
}
