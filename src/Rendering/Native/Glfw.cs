using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace VideoSsl.Rendering.Native;

/// <summary>An input event from the window: a key press (GLFW key code) or a left click at window coordinates.</summary>
internal readonly record struct WindowInput(int Key, bool Click, double X, double Y);

/// <summary>The part of GLFW 3.3 that one window with an OpenGL 3.3 core context needs. Callbacks are static (one window per process).</summary>
internal sealed unsafe class Glfw
{
    public const int ContextVersionMajor = 0x00022002, ContextVersionMinor = 0x00022003, OpenGlProfile = 0x00022008;
    public const int OpenGlCoreProfile = 0x00032001, OpenGlForwardCompat = 0x00022006, Resizable = 0x00020003;
    public const int KeySpace = 32, KeyH = 72, KeyQ = 81, KeyR = 82, KeyS = 83, KeyEscape = 256;
    private const int Press = 1, MouseLeft = 0;

    private static readonly ConcurrentQueue<WindowInput> Inputs = new();
    private static string? _lastError;
    private static nint _cursorPosition;   // for the static click callback

    private readonly delegate* unmanaged<int> _init;
    private readonly delegate* unmanaged<void> _terminate;
    private readonly delegate* unmanaged<int, int, void> _windowHint;
    private readonly delegate* unmanaged<int, int, byte*, nint, nint, nint> _createWindow;
    private readonly delegate* unmanaged<nint, void> _destroyWindow;
    private readonly delegate* unmanaged<nint, void> _makeContextCurrent;
    private readonly delegate* unmanaged<byte*, nint> _getProcAddress;
    private readonly delegate* unmanaged<nint, void> _swapBuffers;
    private readonly delegate* unmanaged<int, void> _swapInterval;
    private readonly delegate* unmanaged<void> _pollEvents;
    private readonly delegate* unmanaged<nint, int> _windowShouldClose;
    private readonly delegate* unmanaged<nint, int*, int*, void> _getFramebufferSize;
    private readonly delegate* unmanaged<nint, int*, int*, void> _getWindowSize;
    private readonly delegate* unmanaged<nint, double*, double*, void> _getCursorPos;
    private readonly delegate* unmanaged<nint, nint, nint> _setKeyCallback;
    private readonly delegate* unmanaged<nint, nint, nint> _setMouseButtonCallback;
    private readonly delegate* unmanaged<nint, nint> _setErrorCallback;

    public Glfw(string library)
    {
        var lib = new NativeFunctions(library);
        _init = (delegate* unmanaged<int>)lib["glfwInit"];
        _terminate = (delegate* unmanaged<void>)lib["glfwTerminate"];
        _windowHint = (delegate* unmanaged<int, int, void>)lib["glfwWindowHint"];
        _createWindow = (delegate* unmanaged<int, int, byte*, nint, nint, nint>)lib["glfwCreateWindow"];
        _destroyWindow = (delegate* unmanaged<nint, void>)lib["glfwDestroyWindow"];
        _makeContextCurrent = (delegate* unmanaged<nint, void>)lib["glfwMakeContextCurrent"];
        _getProcAddress = (delegate* unmanaged<byte*, nint>)lib["glfwGetProcAddress"];
        _swapBuffers = (delegate* unmanaged<nint, void>)lib["glfwSwapBuffers"];
        _swapInterval = (delegate* unmanaged<int, void>)lib["glfwSwapInterval"];
        _pollEvents = (delegate* unmanaged<void>)lib["glfwPollEvents"];
        _windowShouldClose = (delegate* unmanaged<nint, int>)lib["glfwWindowShouldClose"];
        _getFramebufferSize = (delegate* unmanaged<nint, int*, int*, void>)lib["glfwGetFramebufferSize"];
        _getWindowSize = (delegate* unmanaged<nint, int*, int*, void>)lib["glfwGetWindowSize"];
        _getCursorPos = (delegate* unmanaged<nint, double*, double*, void>)lib["glfwGetCursorPos"];
        _setKeyCallback = (delegate* unmanaged<nint, nint, nint>)lib["glfwSetKeyCallback"];
        _setMouseButtonCallback = (delegate* unmanaged<nint, nint, nint>)lib["glfwSetMouseButtonCallback"];
        _setErrorCallback = (delegate* unmanaged<nint, nint>)lib["glfwSetErrorCallback"];
        _cursorPosition = (nint)_getCursorPos;
    }

    /// <summary>Starts GLFW; on failure (no display, for one) the reason GLFW gave.</summary>
    public bool Init(out string? error)
    {
        _lastError = null;
        _setErrorCallback((nint)(delegate* unmanaged[Cdecl]<int, byte*, void>)&OnError);
        bool ok = _init() != 0;
        error = _lastError;
        return ok;
    }

    public void Terminate() => _terminate();

    /// <summary>Opens a window with a current OpenGL 3.3 core context, or returns 0 with GLFW's reason.</summary>
    public nint CreateWindow(int width, int height, string title, out string? error)
    {
        _windowHint(ContextVersionMajor, 3);
        _windowHint(ContextVersionMinor, 3);
        _windowHint(OpenGlProfile, OpenGlCoreProfile);
        _windowHint(OpenGlForwardCompat, 1);
        _windowHint(Resizable, 1);
        _lastError = null;
        var bytes = System.Text.Encoding.UTF8.GetBytes(title + "\0");
        nint window;
        fixed (byte* p = bytes) window = _createWindow(width, height, p, 0, 0);
        error = _lastError;
        if (window == 0) return 0;
        _makeContextCurrent(window);
        _swapInterval(0);   // pacing is the render loop's; vsync would block the thread that also runs the monitor
        _setKeyCallback(window, (nint)(delegate* unmanaged[Cdecl]<nint, int, int, int, int, void>)&OnKey);
        _setMouseButtonCallback(window, (nint)(delegate* unmanaged[Cdecl]<nint, int, int, int, void>)&OnMouseButton);
        return window;
    }

    public void DestroyWindow(nint window) => _destroyWindow(window);

    public nint GetProcAddress(string name)
    {
        var bytes = System.Text.Encoding.ASCII.GetBytes(name + "\0");
        fixed (byte* p = bytes) return _getProcAddress(p);
    }

    public void SwapBuffers(nint window) => _swapBuffers(window);
    public void PollEvents() => _pollEvents();
    public bool ShouldClose(nint window) => _windowShouldClose(window) != 0;

    public (int Width, int Height) FramebufferSize(nint window)
    {
        int w, h;
        _getFramebufferSize(window, &w, &h);
        return (w, h);
    }

    public (int Width, int Height) WindowSize(nint window)
    {
        int w, h;
        _getWindowSize(window, &w, &h);
        return (w, h);
    }

    public bool TryTakeInput(out WindowInput input) => Inputs.TryDequeue(out input);

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnError(int code, byte* description) =>
        _lastError = $"{Marshal.PtrToStringUTF8((nint)description)} (GLFW error 0x{code:X})";

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnKey(nint window, int key, int scancode, int action, int mods)
    {
        if (action == Press) Inputs.Enqueue(new WindowInput(key, false, 0, 0));
    }

    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static void OnMouseButton(nint window, int button, int action, int mods)
    {
        if (button != MouseLeft || action != Press) return;
        double x, y;
        ((delegate* unmanaged<nint, double*, double*, void>)_cursorPosition)(window, &x, &y);
        Inputs.Enqueue(new WindowInput(0, true, x, y));
    }
}
