using System.Globalization;
using VideoSsl.Engine;

namespace VideoSsl.Graph;

/// <summary>
/// The one writer of a run folder. Training (train, demo) holds <c>RUN_DIR/run.lock</c> open and locked for the
/// whole run, through the operating system (flock on Linux and macOS, a share mode on Windows), so the lock ends with
/// its process however that ends: a killed run leaves no stale lock, only the file, which the next run takes over.
/// A second writer is refused in one line naming the folder and the process holding it. Readers (embed, eval,
/// export, demo --no-train) take no lock: checkpoints are replaced by renaming, so a reader sees an old one or a
/// new one, never half of one.
/// </summary>
public sealed class RunLock : IDisposable
{
    public const string FileName = "run.lock";
    private readonly FileStream _file;

    private RunLock(FileStream file) => _file = file;

    public static RunLock Acquire(string runDirectory)
    {
        if (File.Exists(runDirectory)) throw new UserError($"out '{runDirectory}': is a file, not a folder");
        string path = Path.Combine(runDirectory, FileName);
        FileStream file;
        try
        {
            Directory.CreateDirectory(runDirectory);
            file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, Platform.ExclusiveLockShare);
        }
        catch (UnauthorizedAccessException e)
        {
            throw new UserError($"out '{runDirectory}': not writable ({e.Message})");
        }
        catch (IOException e) when (File.Exists(path))
        {
            string holder = Platform.ReadLockedText(path)?.Trim() is { Length: > 0 } text ? $"process {text.Split('\n')[0]}" : "another process";
            throw new UserError($"out '{runDirectory}': in use by {holder}, which is writing to this run folder; wait for it, stop it, or choose another --out", e);
        }
        catch (IOException e)
        {
            throw new UserError($"out '{runDirectory}': not writable ({e.Message})");
        }
        try
        {
            file.SetLength(0);
            using (var writer = new StreamWriter(file, leaveOpen: true)) writer.Write($"{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)} on {Environment.MachineName}\n");
            file.Flush(flushToDisk: false);
        }
        catch (IOException)
        {
            // The lock holds all the same; only the PID shown to a second writer is missing.
        }
        return new RunLock(file);
    }

    public void Dispose() => _file.Dispose();
}
