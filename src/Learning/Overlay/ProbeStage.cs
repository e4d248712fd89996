using System.Threading.Channels;
using VideoSsl.Decode;
using VideoSsl.Engine;
using static TorchSharp.torch;

namespace VideoSsl.Learning.Overlay;

/// <summary>
/// Shows a trained model without changing it (<c>demo --no-train</c>): takes the decoder's output in place of the
/// sampler and trainer, lets every frame go, and probes the newest one for the overlay, at most <paramref name="hertz"/>
/// times a second.
/// </summary>
public sealed class ProbeStage(ChannelReader<DecodeOutput> input, OverlayProbe probe, ContrastiveModel model, Device device, double hertz)
    : Stage("probe")
{
    protected override void Run(CancellationToken cancel)
    {
        Counters.ObserveQueue(() => input.Count);
        while (!cancel.IsCancellationRequested)
        {
            while (input.TryRead(out var message))
            {
                if (message.Frame is not { } frame) continue;
                Counters.CountIn();
                frame.Release();
            }
            if (input.Completion.IsCompleted) return;
            using (Counters.Busy())
            {
                if (probe.Update(model, device)) Counters.CountOut();
            }
            Clock.WaitForNextTick(hertz, cancel);
        }
    }
}
