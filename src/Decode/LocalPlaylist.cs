using VideoSsl.Engine;

namespace VideoSsl.Decode;

/// <summary>
/// A local HLS playlist (<c>.m3u8</c>, <c>.m3u</c>) the user named. FFmpeg follows whatever a playlist lists, and a
/// local one may list any local file (<c>/home/someone/.ssh/id_rsa.mp4</c>, <c>../../secret.ts</c>), so before FFmpeg
/// sees it every segment, key, map and variant playlist it names must resolve (links followed) to a file under the
/// playlist's own folder; nested playlists are checked the same way. Anything else (another scheme, an absolute
/// path elsewhere, a way out through <c>..</c> or a link) refuses the playlist in one line.
/// </summary>
public static class LocalPlaylist
{
    private const int MaxNesting = 8;
    private const long MaxBytes = 16 << 20;

    public static bool IsPlaylistName(string path) =>
        Path.GetExtension(path).ToLowerInvariant() is ".m3u8" or ".m3u";

    public static void Check(string path)
    {
        string folder = Platform.RealPath(Path.GetDirectoryName(Path.GetFullPath(path))!);
        Check(path, path, folder, new HashSet<string>(StringComparer.Ordinal), 0);
    }

    private static void Check(string given, string playlist, string folder, HashSet<string> visited, int depth)
    {
        string real = Platform.RealPath(playlist);
        if (!visited.Add(real)) return;
        if (depth > MaxNesting) throw new UserError($"source '{given}': playlists nested more than {MaxNesting} deep");
        if (new FileInfo(real).Length > MaxBytes) throw new UserError($"source '{given}': playlist '{playlist}' is larger than {MaxBytes >> 20} MB");
        string here = Path.GetDirectoryName(real)!;
        foreach (string reference in References(File.ReadLines(real)))
        {
            string target = Resolve(given, reference, here);
            string resolved = File.Exists(target) ? Platform.RealPath(target) : Path.GetFullPath(target);
            if (!IsUnder(resolved, folder))
                throw new UserError($"source '{given}': the playlist names '{reference}', outside its folder {folder}; a local playlist may only use files under its own folder");
            if (IsPlaylistName(resolved) && File.Exists(resolved)) Check(given, resolved, folder, visited, depth + 1);
        }
    }

    /// <summary>Every URI a playlist names: its non-tag lines, and the URI="..." attribute of tags (keys, maps, media, variants).</summary>
    public static IEnumerable<string> References(IEnumerable<string> lines)
    {
        foreach (string raw in lines)
        {
            string line = raw.Trim();
            if (line.Length == 0) continue;
            if (!line.StartsWith('#'))
            {
                yield return line;
                continue;
            }
            int at = line.IndexOf("URI=\"", StringComparison.OrdinalIgnoreCase);
            while (at >= 0)
            {
                int start = at + 5, end = line.IndexOf('"', start);
                if (end < 0) end = line.Length;
                yield return line[start..end];
                at = line.IndexOf("URI=\"", end, StringComparison.OrdinalIgnoreCase);
            }
        }
    }

    private static string Resolve(string given, string reference, string here)
    {
        string path = reference;
        if (path.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
            path = Uri.TryCreate(path, UriKind.Absolute, out var uri) && uri.IsFile ? uri.LocalPath : path["file:".Length..];
        else if (path.Contains(':') && !(OperatingSystem.IsWindows() && path.Length > 2 && path[1] == ':'))
            throw new UserError($"source '{given}': the playlist names '{reference}'; a local playlist may only use files under its own folder, not other protocols");
        // FFmpeg strips a query string from local segment names too.
        int query = path.IndexOf('?');
        if (query >= 0) path = path[..query];
        return Path.GetFullPath(Path.Combine(here, path));
    }

    private static bool IsUnder(string path, string folder)
    {
        string prefix = folder.EndsWith(Path.DirectorySeparatorChar) ? folder : folder + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);
    }
}
