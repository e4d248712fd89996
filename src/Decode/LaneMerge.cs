using VideoSsl.Messages;

namespace VideoSsl.Decode;

/// <summary>
/// Where the merge stands: whose turn is next and which work item starts next. Every message carries both, so a
/// consumer that remembers the last message it handled can restart decoding exactly there.
/// </summary>
internal sealed class MergeCursor(int nextWorkItem, int turn)
{
    public int NextWorkItem { get; set; } = nextWorkItem;
    public int Turn { get; set; } = turn;
}

/// <summary>What a merge policy works on: the decode stage's lanes, and how it hands frames and ended lanes on.</summary>
internal interface ILaneSet
{
    IReadOnlyList<FileLane?> Files { get; }
    IReadOnlyList<LiveLane> Live { get; }

    /// <summary>Sends a frame on and moves the turn past its lane; false when the frame budget is spent (everything is then stopped).</summary>
    bool Deliver(DecodeWorkItem item, int lane, VideoFrame frame, MergeCursor cursor, CancellationToken cancel);

    /// <summary>A file lane's item is over: reports it and gives the lane the next item, in one step.</summary>
    void FinishFileLane(FileLane lane, MergeCursor cursor, CancellationToken cancel);

    /// <summary>A live lane's process ended: it is reopened later (or the run fails, when the only source never opened).</summary>
    void LiveLaneEnded(LiveLane lane);

    /// <summary>Live lanes' housekeeping between frames: reopening the dropped, warning about the silent, pruning recordings.</summary>
    void Tend(CancellationToken cancel);

    /// <summary>Sleeps until some lane has a frame, a live lane is due to reopen, or a short while has passed.</summary>
    void WaitForAnyFrame(CancellationToken cancel);
}

/// <summary>The order frames leave the decode stage in, a policy over its lanes.</summary>
internal abstract class LaneMerge
{
    /// <summary>Runs until every lane has ended or the frame budget is spent.</summary>
    public abstract void Run(ILaneSet lanes, MergeCursor cursor, CancellationToken cancel);

    /// <summary>Files only, <see cref="InTurnMerge"/>; with live sources, <see cref="ArrivalMerge"/>.</summary>
    public static LaneMerge For(bool anyLive) => anyLive ? new ArrivalMerge() : new InTurnMerge();
}

/// <summary>
/// Files only: one frame from each lane in turn, waiting for the lane whose turn it is, so the output order depends
/// only on the sources, never on which FFmpeg process happened to be faster: two runs with the same seed see the same
/// frames in the same order, and a resumed run restarts the merge exactly where its checkpoint left it.
/// </summary>
internal sealed class InTurnMerge : LaneMerge
{
    public override void Run(ILaneSet lanes, MergeCursor cursor, CancellationToken cancel)
    {
        var files = lanes.Files;
        while (files.Any(l => l is not null))
        {
            var lane = files[cursor.Turn];
            if (lane is null)
            {
                cursor.Turn = (cursor.Turn + 1) % files.Count;
                continue;
            }
            if (lane.TryTakeFrame(out var frame, wait: true, cancel))
            {
                if (!lanes.Deliver(lane.Item, lane.Index, frame, cursor, cancel)) return;
                lane.Delivered++;
            }
            else
            {
                lanes.FinishFileLane(lane, cursor, cancel);
            }
        }
    }
}

/// <summary>
/// With live sources: whatever lane has a frame, in rotation, never waiting on one lane while another has frames
/// (a live source must not be held up by a file, nor by another live source).
/// </summary>
internal sealed class ArrivalMerge : LaneMerge
{
    public override void Run(ILaneSet lanes, MergeCursor cursor, CancellationToken cancel)
    {
        var files = lanes.Files;
        var live = lanes.Live;
        int total = files.Count + live.Count;
        while (files.Any(l => l is not null) || live.Any(l => !l.Closed))
        {
            lanes.Tend(cancel);
            bool progressed = false;
            for (int step = 0; step < total && !progressed; step++)
            {
                int index = (cursor.Turn + step) % total;
                if (index < files.Count)
                {
                    if (files[index] is not { } fileLane) continue;
                    if (fileLane.TryTakeFrame(out var frame, wait: false, cancel))
                    {
                        cursor.Turn = index;
                        if (!lanes.Deliver(fileLane.Item, index, frame, cursor, cancel)) return;
                        fileLane.Delivered++;
                        progressed = true;
                    }
                    else if (fileLane.Reader.Outcome.IsCompleted && fileLane.Reader.Frames.Completion.IsCompleted)
                    {
                        lanes.FinishFileLane(fileLane, cursor, cancel);
                        progressed = true;
                    }
                }
                else
                {
                    var lane = live[index - files.Count];
                    if (lane.Reader is not { } reader) continue;
                    if (reader.Frames.TryRead(out var frame))
                    {
                        cursor.Turn = index;
                        lane.Received(frame);
                        if (!lanes.Deliver(lane.Item, index, frame, cursor, cancel)) return;
                        progressed = true;
                    }
                    else if (reader.Outcome.IsCompleted && reader.Frames.Completion.IsCompleted)
                    {
                        lanes.LiveLaneEnded(lane);
                        progressed = true;
                    }
                }
            }
            if (!progressed) lanes.WaitForAnyFrame(cancel);
        }
    }
}
