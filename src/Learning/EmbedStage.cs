using System.Threading.Channels;
using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Learning;

/// <summary>Receives one embedding row per frame, in decode order.</summary>
public interface IEmbeddingSink
{
    void Write(VideoSource source, long frameIndex, double pts, ReadOnlySpan<float> row);
}

/// <summary>
/// The inference stage of <c>embed</c>: collects decoded frames into batches, runs the encoder without gradients
/// and hands every frame's embedding (see <see cref="ContrastiveModel.Embed"/>) to the sink in the order the frames were decoded.
/// </summary>
public sealed class EmbedStage : ConsumingStage<DecodeOutput>
{
    private readonly FrameEmbedder _embedder;
    private readonly IEmbeddingSink _sink;
    private readonly int _batch;
    private readonly byte[] _pixels;
    private readonly List<(VideoSource Source, long Index, double Pts)> _pending = [];

    public EmbedStage(Edge<DecodeOutput> input, FrameEmbedder embedder, IEmbeddingSink sink, int batch) : base("embed", input)
    {
        _embedder = embedder;
        _sink = sink;
        _batch = batch;
        _pixels = new byte[batch * embedder.FrameSize * embedder.FrameSize * 3];
    }

    /// <summary>Raised on this stage's thread when a source has been fully read.</summary>
    public event Action<DecodeOutput>? SourceEnded;

    protected override void Run(CancellationToken cancel)
    {
        int frameBytes = _embedder.FrameSize * _embedder.FrameSize * 3;
        while (Input.TryReadBlocking(out var message, cancel))
        {
            if (message.Kind == DecodeEventKind.SourceEnded)
            {
                Flush();
                SourceEnded?.Invoke(message);
                continue;
            }
            if (message.Frame is not { } frame) continue;
            frame.Pixels.CopyTo(_pixels.AsSpan(_pending.Count * frameBytes, frameBytes));
            _pending.Add((message.Item.Source, frame.Index, frame.Pts));
            frame.Release();
            Counters.CountIn();
            if (_pending.Count == _batch) Flush();
        }
        Flush();
    }

    private void Flush()
    {
        if (_pending.Count == 0) return;
        using (Counters.Busy())
        {
            float[] rows = _embedder.Embed(_pixels, _pending.Count);
            int d = _embedder.Dimension;
            for (int i = 0; i < _pending.Count; i++)
                _sink.Write(_pending[i].Source, _pending[i].Index, _pending[i].Pts, rows.AsSpan(i * d, d));
        }
        Counters.CountOut(_pending.Count);
        _pending.Clear();
    }
}
