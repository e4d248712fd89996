using Silk.NET.OpenGL;

namespace VideoSsl.Rendering.Surfaces;

/// <summary>
/// An OpenGL 3.3 core context, current on the thread that opened it, and where its pictures go: a window
/// (presented with a buffer swap) or nowhere (headless: the picture lives in the renderer's framebuffer object and
/// is read back).
/// </summary>
public interface IRenderSurface : IDisposable
{
    GL Gl { get; }

    /// <summary>Window or headless.</summary>
    VideoSsl.Messages.Overlay.ViewMode Kind { get; }

    /// <summary>How the context was made (GLFW, EGL surfaceless, EGL device, EGL pbuffer).</summary>
    string Route { get; }

    /// <summary>The size the picture is shown at (the window's framebuffer), or null when headless.</summary>
    (int Width, int Height)? ShownSize { get; }

    /// <summary>Window size in the units of click coordinates, or null when headless.</summary>
    (int Width, int Height)? WindowSize { get; }

    bool CloseRequested { get; }

    /// <summary>Shows the default framebuffer's picture (a window's swap) and collects input.</summary>
    void Present();

    /// <summary>Input since the last call: key presses (GLFW key codes) and clicks at window coordinates.</summary>
    IEnumerable<(int Key, (double X, double Y)? Click)> TakeInput();
}
