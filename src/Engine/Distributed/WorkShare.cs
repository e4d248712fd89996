using System.Globalization;

namespace VideoSsl.Engine.Distributed;

/// <summary>
/// Which part of a run's files this process takes: share <see cref="Index"/> of <see cref="Count"/>, a contiguous block
/// of the files in the order the folder walk gave them (sizes differing by at most one), so that shards joined in
/// index order are the files in their single-process order.
/// </summary>
public sealed record WorkShare(int Index, int Count)
{
    public static readonly WorkShare Whole = new(0, 1);

    public bool IsWhole => Count == 1;

    /// <summary>The block of <paramref name="items"/> this share takes.</summary>
    public Range Of(int items)
    {
        int start = (int)((long)items * Index / Count), end = (int)((long)items * (Index + 1) / Count);
        return start..end;
    }

    /// <summary>The share an MPI rank takes.</summary>
    public static WorkShare OfRank(World world) => new(world.Rank, world.Size);

    /// <summary>
    /// <c>I/N</c>, or <c>auto/N</c> for the index a job-array engine gives each worker: Kubernetes Indexed Jobs'
    /// JOB_COMPLETION_INDEX, or Slurm's SLURM_ARRAY_TASK_ID minus SLURM_ARRAY_TASK_MIN.
    /// </summary>
    public static WorkShare Parse(string text, Func<string, string?>? environment = null)
    {
        environment ??= Environment.GetEnvironmentVariable;
        string[] parts = text.Split('/');
        if (parts.Length != 2 || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int count) || count < 1)
            throw UserError.CommandLine($"shard '{text}': expected I/N with N at least 1 (e.g. 0/4), or auto/N");
        int index;
        if (parts[0] == "auto")
        {
            index = JobArrayIndex(environment) ?? throw UserError.CommandLine(
                $"shard '{text}': no job-array index in the environment (JOB_COMPLETION_INDEX, or SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_MIN)");
        }
        else if (!int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out index))
            throw UserError.CommandLine($"shard '{text}': '{parts[0]}' is not a shard index (0 to {count - 1}, or auto)");
        if (index >= count) throw UserError.CommandLine($"shard '{text}': the index must be from 0 to {count - 1} (got {index})");
        return new WorkShare(index, count);
    }

    private static int? JobArrayIndex(Func<string, string?> environment)
    {
        static int? Number(string? value) => int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out int n) ? n : null;
        if (Number(environment("JOB_COMPLETION_INDEX")) is { } kubernetes) return kubernetes;
        if (Number(environment("SLURM_ARRAY_TASK_ID")) is { } task) return task - (Number(environment("SLURM_ARRAY_TASK_MIN")) ?? 0);
        return null;
    }

    public override string ToString() => $"{Index}/{Count}";
}
