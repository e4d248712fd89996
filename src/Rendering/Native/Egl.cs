using System.Runtime.InteropServices;

namespace VideoSsl.Rendering.Native;

/// <summary>The part of EGL 1.5 (libEGL.so.1, glvnd) that a headless OpenGL context needs.</summary>
internal sealed unsafe class Egl
{
    public const int Success = 0x3000, None = 0x3038, Extensions = 0x3055, Vendor = 0x3053;
    public const int SurfaceType = 0x3033, PbufferBit = 0x0001, RenderableType = 0x3040, OpenGlBit = 0x0008;
    public const int RedSize = 0x3024, GreenSize = 0x3023, BlueSize = 0x3022, AlphaSize = 0x3021, Width = 0x3057, Height = 0x3056;
    public const int OpenGlApi = 0x30A2, ContextMajor = 0x3098, ContextMinor = 0x30FB, ContextProfileMask = 0x30FD, CoreProfileBit = 0x1;
    public const int PlatformSurfacelessMesa = 0x31DD, PlatformDevice = 0x313F;

    private readonly delegate* unmanaged<nint, nint> _getDisplay;
    private readonly delegate* unmanaged<nint, int*, int*, int> _initialize;
    private readonly delegate* unmanaged<nint, int> _terminate;
    private readonly delegate* unmanaged<nint, int, byte*> _queryString;
    private readonly delegate* unmanaged<int, int> _bindApi;
    private readonly delegate* unmanaged<nint, int*, nint*, int, int*, int> _chooseConfig;
    private readonly delegate* unmanaged<nint, nint, int*, nint> _createPbufferSurface;
    private readonly delegate* unmanaged<nint, nint, nint, int*, nint> _createContext;
    private readonly delegate* unmanaged<nint, nint, nint, nint, int> _makeCurrent;
    private readonly delegate* unmanaged<nint, nint, int> _destroyContext;
    private readonly delegate* unmanaged<nint, nint, int> _destroySurface;
    private readonly delegate* unmanaged<int> _getError;
    private readonly delegate* unmanaged<int> _releaseThread;
    private readonly delegate* unmanaged<byte*, nint> _getProcAddress;

    public Egl(string library)
    {
        var lib = new NativeFunctions(library);
        _getDisplay = (delegate* unmanaged<nint, nint>)lib["eglGetDisplay"];
        _initialize = (delegate* unmanaged<nint, int*, int*, int>)lib["eglInitialize"];
        _terminate = (delegate* unmanaged<nint, int>)lib["eglTerminate"];
        _queryString = (delegate* unmanaged<nint, int, byte*>)lib["eglQueryString"];
        _bindApi = (delegate* unmanaged<int, int>)lib["eglBindAPI"];
        _chooseConfig = (delegate* unmanaged<nint, int*, nint*, int, int*, int>)lib["eglChooseConfig"];
        _createPbufferSurface = (delegate* unmanaged<nint, nint, int*, nint>)lib["eglCreatePbufferSurface"];
        _createContext = (delegate* unmanaged<nint, nint, nint, int*, nint>)lib["eglCreateContext"];
        _makeCurrent = (delegate* unmanaged<nint, nint, nint, nint, int>)lib["eglMakeCurrent"];
        _destroyContext = (delegate* unmanaged<nint, nint, int>)lib["eglDestroyContext"];
        _destroySurface = (delegate* unmanaged<nint, nint, int>)lib["eglDestroySurface"];
        _getError = (delegate* unmanaged<int>)lib["eglGetError"];
        _releaseThread = (delegate* unmanaged<int>)lib["eglReleaseThread"];
        _getProcAddress = (delegate* unmanaged<byte*, nint>)lib["eglGetProcAddress"];
    }

    public nint GetDisplay(nint native) => _getDisplay(native);

    public bool Initialize(nint display)
    {
        int major, minor;
        return _initialize(display, &major, &minor) != 0;
    }

    public void Terminate(nint display) => _terminate(display);

    public string? QueryString(nint display, int name) => Marshal.PtrToStringUTF8((nint)_queryString(display, name));

    public bool BindApi(int api) => _bindApi(api) != 0;

    public nint ChooseConfig(nint display, ReadOnlySpan<int> attributes)
    {
        nint config;
        int count;
        fixed (int* attrs = attributes)
            return _chooseConfig(display, attrs, &config, 1, &count) != 0 && count > 0 ? config : 0;
    }

    public nint CreatePbufferSurface(nint display, nint config, ReadOnlySpan<int> attributes)
    {
        fixed (int* attrs = attributes) return _createPbufferSurface(display, config, attrs);
    }

    public nint CreateContext(nint display, nint config, ReadOnlySpan<int> attributes)
    {
        fixed (int* attrs = attributes) return _createContext(display, config, 0, attrs);
    }

    public bool MakeCurrent(nint display, nint surface, nint context) => _makeCurrent(display, surface, surface, context) != 0;
    public void DestroyContext(nint display, nint context) => _destroyContext(display, context);
    public void DestroySurface(nint display, nint surface) => _destroySurface(display, surface);
    public int GetError() => _getError();
    public void ReleaseThread() => _releaseThread();

    public nint GetProcAddress(string name)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(name + "\0");
        fixed (byte* p = bytes) return _getProcAddress(p);
    }

    /// <summary>eglGetPlatformDisplayEXT (EGL_EXT_platform_base), or 0 when the extension is missing.</summary>
    public nint GetPlatformDisplay(int platform, nint nativeDisplay)
    {
        if (!(QueryString(0, Extensions) ?? "").Contains("EGL_EXT_platform_base", StringComparison.Ordinal)) return 0;
        var function = (delegate* unmanaged<int, nint, int*, nint>)GetProcAddress("eglGetPlatformDisplayEXT");
        return function == null ? 0 : function(platform, nativeDisplay, null);
    }

    /// <summary>The EGL devices (EGL_EXT_device_enumeration): how a GPU without a display, NVIDIA's included, is reached.</summary>
    public nint[] QueryDevices()
    {
        if (!(QueryString(0, Extensions) ?? "").Contains("EGL_EXT_device_enumeration", StringComparison.Ordinal)) return [];
        var query = (delegate* unmanaged<int, nint*, int*, int>)GetProcAddress("eglQueryDevicesEXT");
        if (query == null) return [];
        var devices = new nint[8];
        int count;
        fixed (nint* p = devices)
            if (query(devices.Length, p, &count) == 0) return [];
        return devices[..count];
    }
}
