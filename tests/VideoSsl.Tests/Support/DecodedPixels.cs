using Microsoft.Extensions.Logging.Abstractions;
using VideoSsl.Decode;
using VideoSsl.Messages;

namespace VideoSsl.Tests.Support;

/// <summary>Every frame a real decode stage delivers for a schedule, as pixels, in order.</summary>
public static class DecodedPixels
{
    public static List<byte[]> Of(IReadOnlyList<DecodeWorkItem> schedule, DecodeSettings settings)
    {
        var stage = new DecodeStage(schedule, [], settings, DecodeResumePoint.FromStart(1), null, NullLogger.Instance);
        var frames = new List<byte[]>();
        stage.Start(CancellationToken.None);
        while (stage.Output.TryReadBlocking(out var message, CancellationToken.None))
        {
            if (message.Frame is not { } frame) continue;
            frames.Add(frame.Pixels.ToArray());
            frame.Release();
        }
        stage.WaitAndRethrow();
        return frames;
    }
}
