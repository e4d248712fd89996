using System.Diagnostics;

namespace VideoSsl.Decode;

/// <summary>The last lines a child process wrote to stderr (only the last: a long live run must not hold all of it).</summary>
public sealed class StderrTail
{
    private readonly Queue<string> _lines = new();
    private readonly int _keep;

    /// <summary>Starts collecting <paramref name="process"/>'s stderr (it must redirect it).</summary>
    public StderrTail(Process process, int keep = 20)
    {
        _keep = keep;
        process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data is null) return;
            lock (_lines)
            {
                _lines.Enqueue(line.Data);
                if (_lines.Count > _keep) _lines.Dequeue();
            }
        };
        process.BeginErrorReadLine();
    }

    public string Text
    {
        get
        {
            lock (_lines) return string.Join("\n", _lines);
        }
    }
}
