using VideoSsl.Messages;

namespace VideoSsl.Decode;

/// <summary>
/// The schedule cut into runs, each read by one lane from start to end: consecutive short files (one FFmpeg process
/// for all of them), or one other item. A run holds at most <see cref="ShortFileBatch.MaxFiles"/> files (and
/// <see cref="ShortFileBatch.MaxPixels"/> of their pictures) and at most a lane's share of the schedule, so that every lane has files to read and batches still mix videos (3 files over
/// 2 lanes: one each, as without runs). The cut depends on the schedule and the lane count alone, so a resumed run
/// (which keeps its lane count) finds the same runs, and a lane's run follows from the item it is on.
/// </summary>
public sealed class ScheduleRuns
{
    private readonly int[] _end;

    public ScheduleRuns(IReadOnlyList<DecodeWorkItem> schedule, int lanes, Func<DecodeWorkItem, bool> shareable)
    {
        _end = new int[schedule.Count];
        int longest = Math.Clamp(schedule.Count / Math.Max(1, lanes), 1, ShortFileBatch.MaxFiles);
        for (int start = 0; start < schedule.Count;)
        {
            int end = start + 1;
            long pixels = ShortFileBatch.PixelsOf(schedule[start]);
            if (shareable(schedule[start]))
                while (end < schedule.Count && end - start < longest && shareable(schedule[end])
                       && (pixels += ShortFileBatch.PixelsOf(schedule[end])) <= ShortFileBatch.MaxPixels) end++;
            for (int i = start; i < end; i++) _end[i] = end;
            start = end;
        }
    }

    /// <summary>The end (exclusive) of the run that holds work item <paramref name="item"/>.</summary>
    public int EndOf(int item) => _end[item];
}
