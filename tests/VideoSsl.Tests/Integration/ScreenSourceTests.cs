using System.Text.Json;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Integration;

/// <summary>The screen as a live source (the worked example of a new source kind), on a virtual X screen.</summary>
[Trait("Category", "Integration")]
public class ScreenSourceTests
{
    [Fact]
    public void The_screen_and_a_region_of_it_train_under_xvfb_and_devices_lists_the_screen()
    {
        using var work = new TempFolder("screen");
        string preload = Environment.GetEnvironmentVariable("VIDEOSSL_PRELOAD") is { Length: > 0 } p ? $"LD_PRELOAD={p} " : "";
        string program = Path.Combine(AppContext.BaseDirectory, "videossl.dll");
        string common = "--backbone small --device cpu --size 32 --batch 4 --neg-gap 1 --max-steps 3";
        string script = $"""
            {preload}dotnet '{program}' train --source screen --out '{work["whole"]}' {common} > '{work["whole.txt"]}' 2>&1 &&
            {preload}dotnet '{program}' train --source screen:160x120+40+20 --out '{work["region"]}' {common} > '{work["region.txt"]}' 2>&1 &&
            dotnet '{program}' devices > '{work["devices.txt"]}' 2>&1
            """;
        var (exit, _, stderr) = Tool.Run("xvfb-run", "-a", "-s", "-screen 0 320x240x24", "bash", "-c", script);
        string Log(string name) => File.Exists(work[name]) ? File.ReadAllText(work[name]) : "(none)";
        Assert.True(exit == 0, $"exit {exit}: {stderr}\n{Log("whole.txt")}\n{Log("region.txt")}");
        foreach (string run in (string[])["whole", "region"])
        {
            using var summary = JsonDocument.Parse(File.ReadAllText(work[$"{run}/summary.json"]));
            Assert.Equal(3, summary.RootElement.GetProperty("steps").GetInt64());
            Assert.Contains("1 live source(s)", Log($"{run}.txt"));
        }
        Assert.Contains(File.ReadAllLines(work["devices.txt"]), l => l.StartsWith("screen ") && l.Contains("x11grab"));
        Assert.Empty(VideoSslProcess.LeftoverFfmpeg(Path.GetFileName(work.Path)));
    }

    [Theory]
    [InlineData(null, "no display to capture (DISPLAY is not set)")]
    [InlineData("wayland-0", "this is a Wayland session without an X display")]
    public void Without_an_x_display_screen_capture_is_one_line(string? wayland, string expected)
    {
        using var work = new TempFolder("no-screen");
        var environment = new Dictionary<string, string?> { ["DISPLAY"] = null, ["WAYLAND_DISPLAY"] = wayland };
        var result = VideoSslProcess.Run(work.Path, TimeSpan.FromMinutes(1), environment, "train", "--backbone", "small", "--source", "screen", "--out", work["run"], "--device", "cpu");
        Assert.Equal(1, result.ExitCode);
        Assert.StartsWith($"error: train: source 'screen': {expected}", Assert.Single(result.StderrLines));
    }
}
