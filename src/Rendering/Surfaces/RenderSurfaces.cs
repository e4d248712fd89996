using Microsoft.Extensions.Logging;
using Silk.NET.OpenGL;
using VideoSsl.Engine;
using VideoSsl.Messages.Overlay;

namespace VideoSsl.Rendering.Surfaces;

/// <summary>Rendering cannot start here: no display, no EGL or GLFW library, or no context of the version needed.</summary>
public sealed class RenderUnavailableException(string message) : Exception(message);

/// <summary>What GL_RENDERER and GL_VERSION say.</summary>
public static class GlInfo
{
    public static string Renderer(GL gl) => gl.GetStringS(StringName.Renderer) ?? "unknown";
    public static string Version(GL gl) => gl.GetStringS(StringName.Version) ?? "";
}

/// <summary>
/// Chooses where the overlay draws. auto: a window where a display exists, else headless, else no rendering, and
/// says which and why; window or headless asked for explicitly: that or a one-line error, no fallback.
/// </summary>
public static class RenderSurfaces
{
    /// <returns>The surface, or null for none (asked for, or what auto fell back to).</returns>
    public static IRenderSurface? Open(ViewMode view, int width, int height, string title, ILogger log)
    {
        switch (view)
        {
            case ViewMode.None:
                return null;
            case ViewMode.Window:
                return Explicit(() => GlfwSurface.Open(width, height, title), view);
            case ViewMode.Headless:
                return Explicit(EglSurface.Open, view);
        }
        var reasons = new List<string>();
        if (Platform.HasDisplay)
        {
            try { return GlfwSurface.Open(width, height, title); }
            catch (RenderUnavailableException e) { reasons.Add("window: " + e.Message); }
        }
        else reasons.Add("window: no display (DISPLAY is not set)");
        try
        {
            var surface = EglSurface.Open();
            log.LogInformation("view: headless ({Why})", reasons[0]);
            return surface;
        }
        catch (RenderUnavailableException e) { reasons.Add("headless: " + e.Message); }
        log.LogWarning("view: no rendering; the run goes on without the overlay ({Why})", string.Join("; ", reasons));
        return null;
    }

    private static IRenderSurface Explicit(Func<IRenderSurface> open, ViewMode view)
    {
        try { return open(); }
        catch (RenderUnavailableException e) { throw new UserError($"--view {Choice<ViewMode>.Name(view)} cannot start: {e.Message}"); }
    }
}
