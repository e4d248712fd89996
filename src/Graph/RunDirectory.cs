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
    /// asked to (<paramref name="resume"/> continues it; <paramref name="overwrite"/> starts over). Only VideoSsl's own
    /// files are ever removed, never a folder's other contents: a folder that holds other files and no run is refused,
    /// so that a mistyped --out (or one from a configuration file) cannot make a run start over in someone's project.
    /// </summary>
    public static void Prepare(string path, bool resume, bool overwrite)
    {
        RefuseForeign(path);
        if (HoldsRun(path) && !resume && !overwrite)
            throw new UserError($"out '{path}': already holds a run; pass --resume to continue it or --overwrite to start over");
        try
        {
            Directory.CreateDirectory(path);
            if (!resume) RemoveRunFiles(path);
            string probe = Path.Combine(path, WriteTest);
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

    /// <summary>
    /// Refuses a path that is a file, or a folder that holds other things and no run (checked before the run lock is
    /// taken too, so that such a folder does not even get a lock file).
    /// </summary>
    public static void RefuseForeign(string path)
    {
        if (string.IsNullOrWhiteSpace(path)) throw new UserError("no output folder: pass --out RUN_DIR");
        if (File.Exists(path)) throw new UserError($"out '{path}': is a file, not a folder");
        if (!HoldsRun(path) && ForeignEntry(path) is { } foreign)
            throw new UserError($"out '{path}': holds files that are not a VideoSsl run (such as '{foreign}'); choose a new or empty folder");
    }

    /// <summary>A folder "holds a run" once a checkpoint was written; the files of a run that never got that far are replaced.</summary>
    private static bool HoldsRun(string path)
    {
        string checkpoints = Path.Combine(path, "checkpoints");
        return Directory.Exists(checkpoints) && Directory.EnumerateFiles(checkpoints, "step-*.ckpt").Any();
    }

    private const string WriteTest = ".write-test";

    /// <summary>What a run leaves in its folder, by name: everything else is someone else's.</summary>
    private static readonly string[] RunEntries = [ConfigFile, MetricsFile, SummaryFile, RecentFolder, "checkpoints", "screenshots", RunLock.FileName, WriteTest];

    /// <summary>An entry of an existing folder that a run does not make, or null (the folder is new, empty or a run's).</summary>
    private static string? ForeignEntry(string path) => Directory.Exists(path)
        ? Directory.EnumerateFileSystemEntries(path).Select(Path.GetFileName).FirstOrDefault(name => !RunEntries.Contains(name))
        : null;

    /// <summary>Removes the files of an earlier run (its checkpoints, recordings and logs), and nothing else.</summary>
    private static void RemoveRunFiles(string path)
    {
        foreach (var (folder, pattern) in new[] { ("checkpoints", "step-*.ckpt"), ("checkpoints", "best.ckpt"), ("checkpoints", ".*.ckpt.tmp"), (RecentFolder, "source*.ts") })
        {
            string full = Path.Combine(path, folder);
            if (Directory.Exists(full))
                foreach (string file in Directory.EnumerateFiles(full, pattern)) File.Delete(file);
        }
        foreach (string name in new[] { MetricsFile, SummaryFile, ConfigFile }) File.Delete(Path.Combine(path, name));
    }
}
