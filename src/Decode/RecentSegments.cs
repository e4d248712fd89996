using Microsoft.Extensions.Logging;

namespace VideoSsl.Decode;

/// <summary>
/// The rolling recordings of live input under RUN_DIR/recent (--keep-recent): segments that ended longer ago than the
/// minutes asked for are deleted as the run goes (looked at every few seconds), and a segment FFmpeg had only just
/// opened when it was stopped, which holds nothing, is removed at the end rather than left as an unreadable file.
/// </summary>
internal sealed class RecentSegments(string? folder, double? keepMinutes, ILogger log)
{
    private long _nextPrune;

    public void Prune()
    {
        if (folder is null || keepMinutes is not { } minutes || Environment.TickCount64 < _nextPrune) return;
        _nextPrune = Environment.TickCount64 + 2000;
        var cutoff = DateTime.UtcNow.AddMinutes(-minutes);
        try
        {
            foreach (var segment in new DirectoryInfo(folder).EnumerateFiles("*.ts"))
                if (segment.LastWriteTimeUtc < cutoff) segment.Delete();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            log.LogWarning("decode: could not prune {Folder} ({Message})", folder, e.Message);
        }
    }

    public void DropEmpty()
    {
        if (folder is null || !Directory.Exists(folder)) return;
        foreach (var segment in new DirectoryInfo(folder).EnumerateFiles("*.ts"))
            if (segment.Length == 0) segment.Delete();
    }
}
