using System.Threading.Channels;
using VideoSsl.Engine;
using VideoSsl.Messages;
using static TorchSharp.torch;

namespace VideoSsl.Learning.Overlay;

/// <summary>
/// Shows a trained model without changing it (<c>demo --no-train</c>): takes the decoder's output in place of the
/// sampler and trainer, lets every frame go, and probes the newest one for the overlay, at most <paramref name="hertz"/>
/// times a second.
/// </summary>
public sealed class ProbeStage(Edge<DecodeOutput> input, OverlayProbe probe, ContrastiveModel model, Device device, double hertz)
    : ConsumingStage<DecodeOutput>("probe", input)
{
    protected override void Run(CancellationToken cancel)
    {
        while (!cancel.IsCancellationRequested)
        {
            while (Input.Reader.TryRead(out var message))
            {
                if (message.Frame is not { } frame) continue;
                Counters.CountIn();
                frame.Release();
            }
            if (Input.Reader.Completion.IsCompleted) return;
            using (Counters.Busy())
            {
                if (probe.Update(model, device)) Counters.CountOut();
            }
            Clock.WaitForNextTick(hertz, cancel);
        }
    }
}
