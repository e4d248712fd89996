using System.Diagnostics;
using System.Text;

namespace VideoSsl.Tests.Support;

/// <summary>The result of running the real command-line program.</summary>
public sealed record CliResult(int ExitCode, string Stdout, string Stderr)
{
    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// Runs the built <c>videossl</c> program as its own process, as a user would (the launcher's allocator setting
/// included), so exit codes, stderr lines and child processes are the real ones.
/// </summary>
public static class VideoSslProcess
{
    private static readonly string Program = Path.Combine(AppContext.BaseDirectory, "videossl.dll");

    public static CliResult Run(string workingDirectory, params string[] arguments) => Run(workingDirectory, TimeSpan.FromMinutes(5), arguments);

    public static CliResult Run(string workingDirectory, TimeSpan timeout, params string[] arguments) => Run(workingDirectory, timeout, null, arguments);

    /// <param name="environment">Variables to set (a null value removes one, e.g. DISPLAY).</param>
    public static CliResult Run(string workingDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment, params string[] arguments) =>
        ToTheEnd(Start(workingDirectory, arguments, environment: environment), timeout, $"videossl {string.Join(' ', arguments)}");

    /// <summary>Waits for a started process, collecting what it prints; past <paramref name="timeout"/> it is killed with its children and the test fails.</summary>
    private static CliResult ToTheEnd(Process started, TimeSpan timeout, string what)
    {
        using var process = started;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{what} did not finish in {timeout}:\n{stderr.Result}");
        }
        process.WaitForExit();
        return new CliResult(process.ExitCode, stdout.Result, stderr.Result);
    }

    /// <summary>
    /// Runs the program as <paramref name="ranks"/> MPI ranks on this machine, under Open MPI's mpirun as a user would
    /// (more ranks than cores allowed; as root, which CI is, allowed too; no single-copy shared memory, which
    /// containers lack).
    /// </summary>
    public static CliResult RunMpi(string workingDirectory, int ranks, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment, params string[] arguments) =>
        ToTheEnd(StartMpi(workingDirectory, ranks, arguments, environment), timeout, $"mpirun -np {ranks} videossl {string.Join(' ', arguments)}");

    public static Process StartMpi(string workingDirectory, int ranks, string[] arguments, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var launcher = new Dictionary<string, string?>
        {
            ["OMPI_ALLOW_RUN_AS_ROOT"] = "1",
            ["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1",
            ["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none",
            // mpirun gives its ranks pseudo-terminals; .NET then writes the terminal's keypad sequence to stdout.
            ["TERM"] = "dumb",
        };
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) launcher[name] = value;
        // SIGINT at its default disposition (see Start's interruptible), so that a test can press Ctrl+C on mpirun.
        return Start(workingDirectory, ["--default-signal=INT", "mpirun", "--oversubscribe", "-np", ranks.ToString(System.Globalization.CultureInfo.InvariantCulture), "dotnet", Program, .. arguments],
            environment: launcher, executable: "env");
    }

    /// <param name="interruptible">
    /// Start with SIGINT at its default disposition, as a program in a terminal's foreground has it. A process
    /// started in the background by a non-interactive shell inherits SIGINT ignored (and .NET then leaves it
    /// ignored), so without this a test run from such a shell could not send Ctrl+C at all.
    /// </param>
    /// <param name="executable">Another launcher than dotnet (mpirun), given the program and its arguments in <paramref name="arguments"/>.</param>
    public static Process Start(string workingDirectory, string[] arguments, bool interruptible = false, IReadOnlyDictionary<string, string?>? environment = null, string? executable = null)
    {
        var start = new ProcessStartInfo(executable ?? (interruptible ? "env" : "dotnet"))
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (interruptible)
        {
            start.ArgumentList.Add("--default-signal=INT");
            start.ArgumentList.Add("dotnet");
        }
        if (executable is null) start.ArgumentList.Add(Program);
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        if (Environment.GetEnvironmentVariable("VIDEOSSL_PRELOAD") is { Length: > 0 } preload) start.Environment["LD_PRELOAD"] = preload;
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null) start.Environment.Remove(name);
            else start.Environment[name] = value;
        }
        return Process.Start(start)!;
    }

    /// <summary>Sends a POSIX signal (INT, TERM, ...) the way a terminal or a service manager would.</summary>
    public static void Signal(Process process, string signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", $"-{signal} {process.Id}"))!;
        kill.WaitForExit();
    }

    /// <summary>The PIDs of the program's processes whose command line mentions <paramref name="marker"/>, with their MPI rank (or null).</summary>
    public static IReadOnlyList<(int Pid, int? Rank)> Running(string marker)
    {
        var found = new List<(int, int?)>();
        if (!OperatingSystem.IsLinux()) return found;
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid)) continue;
            try
            {
                string commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (!commandLine.Contains("videossl.dll", StringComparison.Ordinal) || !commandLine.Contains(marker, StringComparison.Ordinal)) continue;
                string? rank = File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').FirstOrDefault(v => v.StartsWith("OMPI_COMM_WORLD_RANK=", StringComparison.Ordinal));
                found.Add((pid, rank is null ? null : int.Parse(rank["OMPI_COMM_WORLD_RANK=".Length..], System.Globalization.CultureInfo.InvariantCulture)));
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }

    /// <summary>FFmpeg processes still alive whose command line mentions <paramref name="marker"/> (a test's own folder).</summary>
    public static IReadOnlyList<string> LeftoverFfmpeg(string marker)
    {
        var found = new List<string>();
        if (!OperatingSystem.IsLinux()) return found;
        foreach (string dir in Directory.GetDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out _)) continue;
            try
            {
                string commandLine = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                if (commandLine.Contains("ffmpeg", StringComparison.Ordinal) && commandLine.Contains(marker, StringComparison.Ordinal))
                    found.Add($"{Path.GetFileName(dir)}: {commandLine}");
            }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
        return found;
    }
}
