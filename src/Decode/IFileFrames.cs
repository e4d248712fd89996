using System.Threading.Channels;
using VideoSsl.Messages;

namespace VideoSsl.Decode;

/// <summary>
/// What a file lane reads: one work item's frames in order, and how its decode ended. An item has an FFmpeg process
/// of its own (<see cref="FfmpegFrameReader"/>) or a share of one that decodes several short files in turn
/// (<see cref="ShortFileBatch"/>).
/// </summary>
public interface IFileFrames : IDisposable
{
    DecodeWorkItem Item { get; }

    ChannelReader<VideoFrame> Frames { get; }

    /// <summary>Completes after the item's frames are all queued (or its decode failed or was stopped).</summary>
    Task<DecodeOutcome> Outcome { get; }

    /// <summary>Stops decoding; frames already queued stay readable.</summary>
    void Stop();

    /// <summary>Waits until at least <paramref name="count"/> frames are queued or the item has ended (see <see cref="Engine.BurstSignal"/>).</summary>
    void WaitForFrames(int count, CancellationToken cancel);
}
