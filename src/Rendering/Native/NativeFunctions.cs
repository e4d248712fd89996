using System.Runtime.InteropServices;

namespace VideoSsl.Rendering.Native;

/// <summary>A native library opened by name and its exports looked up one by one, so a missing library or symbol is a catchable error, not a crash.</summary>
internal sealed class NativeFunctions
{
    private readonly nint _library;

    public NativeFunctions(string library)
    {
        Name = library;
        try
        {
            _library = NativeLibrary.Load(library);
        }
        catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
        {
            throw new DllNotFoundException($"{library} could not be loaded ({e.Message.Split('\n')[0]})", e);
        }
    }

    public string Name { get; }

    public nint this[string symbol] => NativeLibrary.TryGetExport(_library, symbol, out var address)
        ? address
        : throw new EntryPointNotFoundException($"{Name} has no {symbol}");
}
