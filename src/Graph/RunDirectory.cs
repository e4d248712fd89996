using VideoSsl.Engine;

namespace VideoSsl.Graph;

/// <summary>The folder a training run writes to, checked before any work starts.</summary>
public static class RunDirectory
{
    public const string ConfigFile = "config.json";
    public const string MetricsFile = "metrics.jsonl";
    public const string SummaryFile = "summary.json";

    /// <summary>Rolling recordings of the live input (--keep-recent), for in-stream evaluation.</summary>
    public const string RecentFolder = "recent";
    private const long MinimumFreeBytes = 200L * 1024 * 1024;

    /// <summary>
    /// Creates the folder, proves it is writable and has room, and refuses to mix a new run into an old one unless
    /// asked to (<paramref name="resume"/> continues it; <paramref name="overwrite"/> starts over).
    /// </summary>
    public static void Prepare(string path, bool resume, bool overwrite)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new UserError("no output folder: pass --out RUN_DIR");
        if (File.Exists(path)) throw new UserError($"out '{path}': is a file, not a folder");
        // A folder "holds a run" once a checkpoint was written; the files of a run that never got that far are replaced.
        string checkpoints = Path.Combine(path, "checkpoints");
        bool hasRun = Directory.Exists(checkpoints) && Directory.EnumerateFiles(checkpoints, "*.ckpt").Any();
        if (hasRun && !resume && !overwrite)
            throw new UserError($"out '{path}': already holds a run; pass --resume to continue it or --overwrite to start over");
        try
        {
            Directory.CreateDirectory(path);
            if (!resume)
            {
                if (Directory.Exists(checkpoints)) Directory.Delete(checkpoints, true);
                string recent = Path.Combine(path, RecentFolder);
                if (Directory.Exists(recent)) Directory.Delete(recent, true);
                foreach (string name in new[] { MetricsFile, SummaryFile, ConfigFile }) File.Delete(Path.Combine(path, name));
            }
            string probe = Path.Combine(path, ".write-test");
            File.WriteAllText(probe, "ok");
            File.Delete(probe);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"out '{path}': not writable ({e.Message})");
        }
        long free = new DriveInfo(Path.GetFullPath(path)).AvailableFreeSpace;
        if (free < MinimumFreeBytes)
            throw new UserError($"out '{path}': only {free / (1024 * 1024)} MB free; checkpoints need at least {MinimumFreeBytes / (1024 * 1024)} MB");
    }
}
