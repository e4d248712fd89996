using System.Diagnostics;

namespace VideoSsl.Tests.Support;

/// <summary>Runs a program with an argument list (no shell) and collects what it printed.</summary>
public static class Tool
{
    public static (int Exit, string Stdout, string Stderr) Run(string tool, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments) start.ArgumentList.Add(argument);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        string stderr = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(300_000))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{tool} {string.Join(' ', arguments)}");
        }
        return (process.ExitCode, stdout.Result, stderr);
    }

    /// <summary>Runs the tool and returns its standard output; a non-zero exit fails with its stderr.</summary>
    public static string Output(string tool, params string[] arguments)
    {
        var (exit, stdout, stderr) = Run(tool, arguments);
        if (exit != 0) throw new InvalidOperationException($"{tool} {string.Join(' ', arguments)} failed: {stderr}");
        return stdout;
    }
}
