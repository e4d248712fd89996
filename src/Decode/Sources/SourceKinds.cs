using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Decode.Sources;

/// <summary>
/// Every kind of source, in the order a <c>--source</c> value is offered to them: the spelled kinds first (a camera,
/// a synthetic scene, the screen, a URL), then the file system (a folder, a file). To add a kind, write its class
/// and add it here.
/// </summary>
public static class SourceKinds
{
    public static readonly FileSource File = new();

    public static readonly IReadOnlyList<SourceKind> All =
    [
        new CameraSource(),
        new SyntheticSource(),
        new ScreenSource(),
        new StreamSource(),
        new FolderSource(),
        File,
    ];

    private static readonly Dictionary<string, SourceKind> ByName = All.ToDictionary(k => k.Name, StringComparer.Ordinal);

    /// <summary>The kind that opens <paramref name="source"/> (a source names its kind; a folder's files are files).</summary>
    public static SourceKind Of(VideoSource source) => ByName[source.Kind];

    /// <summary>The kind that claims <paramref name="spec"/>; a spec none claims is refused in one line.</summary>
    public static SourceKind For(string spec)
    {
        if (string.IsNullOrWhiteSpace(spec)) throw new UserError("source '': empty path");
        if (All.FirstOrDefault(kind => kind.Claims(spec)) is { } claimed) return claimed;
        int scheme = spec.IndexOf("://", StringComparison.Ordinal);
        if (scheme > 0)
            throw new UserError($"source '{spec}': scheme '{spec[..scheme]}' is not supported (use {string.Join(", ", StreamSource.Schemes.Order())}, webcam, screen or testsrc)");
        if (spec.Contains('\uFFFD'))
            // .NET reads a name's bytes as UTF-8; bytes that are not UTF-8 cannot be handed back to the file system.
            throw new UserError($"source '{spec}': the name is not valid UTF-8, so it cannot be opened; rename the file or folder");
        throw new UserError($"source '{spec}': no such file or folder");
    }

    /// <summary>What each kind would write for --source: the spellings, for help texts.</summary>
    public static string Spellings => string.Join(", ", All.Select(k => k.Spelling));
}
