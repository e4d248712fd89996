namespace VideoSsl.Engine;

/// <summary>The repository checkout the program runs from, when it runs from one (the launcher's build does).</summary>
public static class Checkout
{
    private static readonly Lazy<string?> FoundRoot = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "VideoSsl.sln"))) return dir.FullName;
        return null;
    });

    /// <summary>The folder holding VideoSsl.sln above the program, or null for a program copied elsewhere.</summary>
    public static string? Root => FoundRoot.Value;
}
