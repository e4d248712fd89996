namespace VideoSsl.Tests.Support;

/// <summary>A fresh folder under the system temp folder, deleted afterwards; its unique path also marks the processes a test starts.</summary>
public sealed class TempFolder : IDisposable
{
    public TempFolder(string label = "test")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"videossl-{label}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string this[string relative] => System.IO.Path.Combine(Path, relative);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
