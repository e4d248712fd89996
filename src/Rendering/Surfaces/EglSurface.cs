using Silk.NET.OpenGL;
using VideoSsl.Engine;
using VideoSsl.Messages.Overlay;
using VideoSsl.Rendering.Native;

namespace VideoSsl.Rendering.Surfaces;

/// <summary>
/// A headless OpenGL context through EGL, tried three ways: Mesa's surfaceless platform, the device platform (how
/// an NVIDIA GPU with no display is reached), and the default display with a small pbuffer.
/// </summary>
public sealed class EglSurface : IRenderSurface
{
    private readonly Egl _egl;
    private readonly nint _display;
    private readonly nint _context;
    private readonly nint _surface;

    private EglSurface(Egl egl, nint display, nint context, nint surface, string route)
    {
        _egl = egl;
        _display = display;
        _context = context;
        _surface = surface;
        Route = route;
        Gl = GL.GetApi(egl.GetProcAddress);
    }

    public GL Gl { get; }
    public ViewMode Kind => ViewMode.Headless;
    public string Route { get; }
    public (int Width, int Height)? ShownSize => null;
    public (int Width, int Height)? WindowSize => null;
    public bool CloseRequested => false;

    public void Present() { }

    public IEnumerable<(int Key, (double X, double Y)? Click)> TakeInput() => [];

    /// <summary>Opens the first route that works, or throws <see cref="RenderUnavailableException"/> with each route's reason.</summary>
    public static EglSurface Open()
    {
        string library = Platform.EglLibrary ?? throw new RenderUnavailableException("headless rendering uses EGL, which this operating system does not have");
        Egl egl;
        try
        {
            egl = new Egl(library);
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            throw new RenderUnavailableException($"{e.Message}; {Platform.GraphicsInstallHint}");
        }
        var reasons = new List<string>();
        foreach (var (route, display, pbuffer) in Displays(egl))
        {
            if (display == 0)
            {
                reasons.Add($"{route}: no display");
                continue;
            }
            if (TryOpen(egl, display, pbuffer, route, out var surface, out string? why)) return surface!;
            reasons.Add($"{route}: {why}");
        }
        throw new RenderUnavailableException("no EGL display gave an OpenGL 3.3 core context (" + string.Join("; ", reasons) + ")");
    }

    private static IEnumerable<(string Route, nint Display, bool Pbuffer)> Displays(Egl egl)
    {
        yield return ("EGL surfaceless", egl.GetPlatformDisplay(Egl.PlatformSurfacelessMesa, 0), false);
        foreach (var device in egl.QueryDevices())
            yield return ("EGL device", egl.GetPlatformDisplay(Egl.PlatformDevice, device), false);
        yield return ("EGL pbuffer", egl.GetDisplay(0), true);
    }

    private static bool TryOpen(Egl egl, nint display, bool pbuffer, string route, out EglSurface? surface, out string? why)
    {
        surface = null;
        if (!egl.Initialize(display))
        {
            why = $"eglInitialize failed (0x{egl.GetError():X})";
            return false;
        }
        nint context = 0, drawable = 0;
        try
        {
            if (!egl.BindApi(Egl.OpenGlApi))
            {
                why = "no desktop OpenGL API";
                return false;
            }
            nint config = egl.ChooseConfig(display, [
                Egl.SurfaceType, Egl.PbufferBit, Egl.RenderableType, Egl.OpenGlBit,
                Egl.RedSize, 8, Egl.GreenSize, 8, Egl.BlueSize, 8, Egl.AlphaSize, 8, Egl.None]);
            if (config == 0)
            {
                why = "no RGBA8 OpenGL configuration";
                return false;
            }
            context = egl.CreateContext(display, config, [Egl.ContextMajor, 3, Egl.ContextMinor, 3, Egl.ContextProfileMask, Egl.CoreProfileBit, Egl.None]);
            if (context == 0)
            {
                why = $"no OpenGL 3.3 core context (0x{egl.GetError():X})";
                return false;
            }
            if (pbuffer) drawable = egl.CreatePbufferSurface(display, config, [Egl.Width, 16, Egl.Height, 16, Egl.None]);
            if (!egl.MakeCurrent(display, drawable, context))
            {
                why = $"eglMakeCurrent failed (0x{egl.GetError():X})";
                return false;
            }
            surface = new EglSurface(egl, display, context, drawable, route);
            // glvnd hands out stubs even for functions no driver has: a context that works has a version string.
            if (string.IsNullOrEmpty(GlInfo.Version(surface.Gl)))
            {
                why = "the context reports no GL_VERSION";
                surface = null;
                return false;
            }
            why = null;
            return true;
        }
        finally
        {
            if (surface is null)
            {
                if (context != 0) egl.DestroyContext(display, context);
                if (drawable != 0) egl.DestroySurface(display, drawable);
                egl.Terminate(display);
            }
        }
    }

    public void Dispose()
    {
        _egl.MakeCurrent(_display, 0, 0);
        _egl.DestroyContext(_display, _context);
        if (_surface != 0) _egl.DestroySurface(_display, _surface);
        _egl.Terminate(_display);
        _egl.ReleaseThread();
        Gl.Dispose();
    }
}
