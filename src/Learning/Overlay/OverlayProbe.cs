using TorchSharp;
using VideoSsl.Messages.Overlay;
using static TorchSharp.torch;

namespace VideoSsl.Learning.Overlay;

/// <summary>
/// Turns the newest probe frame into what the overlay shows of the model: the similarity heatmap (query point,
/// reference or change, from the encoder's spatial feature map, one unit vector per cell) and the self-similarity
/// of the last frames' pooled embeddings. It runs on the thread that owns the model (the trainer's, between steps),
/// so it never races the optimizer, and it publishes into the feed without waiting for the renderer.
/// </summary>
public sealed class OverlayProbe
{
    private readonly OverlayFeed _feed;
    private readonly int _historyLength;
    private readonly double _referenceSeconds;
    private readonly Queue<(double Pts, float[] Embedding)> _history = new();
    private long _seenImage;
    private long _seenQuery;
    private long _seenResets;
    private (float X, float Y)? _queryPoint;
    private float[]? _queryFeature;
    private float[]? _pinnedReference;
    private float[]? _previousCells;

    public OverlayProbe(OverlayFeed feed, int historyLength = 64, double referenceSeconds = 1.0)
    {
        _feed = feed;
        _historyLength = historyLength;
        _referenceSeconds = referenceSeconds;
        _seenResets = feed.ResetRequests;
    }

    /// <summary>Frames probed so far.</summary>
    public long Probes { get; private set; }

    /// <summary>Probes the newest frame if there is a newer one than last time; returns whether it did.</summary>
    public bool Update(ContrastiveModel model, Device device)
    {
        if (!_feed.Probe.TryTakeNewer(ref _seenImage, out var image)) return false;
        var (cells, pooled, width, height, channels) = Features(model, device, image);
        if (_feed.TryTakeQuery(ref _seenQuery, out var point))
        {
            _queryPoint = point;
            _queryFeature = null;   // taken from this frame, then kept, so the spot is followed
        }
        var mode = _feed.Mode;
        long resets = _feed.ResetRequests;
        if (resets != _seenResets)
        {
            _seenResets = resets;
            if (mode == HeatmapMode.Query) (_queryPoint, _queryFeature) = (null, null);
            else if (mode == HeatmapMode.Reference) _pinnedReference = _pinnedReference is null ? pooled : null;
        }

        var heat = new float[width * height];
        string caption;
        switch (mode)
        {
            case HeatmapMode.Query:
                var (qx, qy) = _queryPoint ?? (0.5f, 0.5f);
                // A clicked spot's feature is taken once and kept, so the spot is followed; until then, each frame's centre.
                if (_queryPoint is not null) _queryFeature ??= CellAt(cells, width, height, channels, qx, qy);
                Similarities(cells, channels, _queryFeature ?? CellAt(cells, width, height, channels, qx, qy), heat);
                caption = _queryPoint is null ? "query: frame centre (click a spot)" : "query: the clicked spot";
                break;
            case HeatmapMode.Reference:
                Similarities(cells, channels, _pinnedReference ?? ReferenceEmbedding(image.Pts) ?? pooled, heat);
                caption = _pinnedReference is not null ? "reference: pinned frame (R unpins)" : $"reference: the frame {_referenceSeconds:0.#} s earlier";
                break;
            default:
                var previous = _previousCells is { } p && p.Length == cells.Length ? p : cells;
                for (int c = 0; c < heat.Length; c++) heat[c] = Dot(cells, c * channels, previous.AsSpan(c * channels, channels));
                caption = "change: each cell against the previous probe";
                break;
        }
        _previousCells = cells;
        float low = heat.Min(), high = heat.Max();
        if (mode == HeatmapMode.Change) high = 1f;
        if (high - low < 1e-3f) low = high - 1e-3f;
        _feed.Heat.Publish(new Heatmap(heat, width, height, mode, low, high, caption));

        _history.Enqueue((image.Pts, pooled));
        while (_history.Count > _historyLength) _history.Dequeue();
        _feed.Similarity.Publish(SelfSimilarity());
        Probes++;
        return true;
    }

    private static (float[] Cells, float[] Pooled, int Width, int Height, int Channels) Features(ContrastiveModel model, Device device, ProbeImage image)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        bool training = model.training;
        model.eval();
        try
        {
            var input = FrameTensors.Normalize(FrameTensors.ToUnitRange(image.Rgb, 1, image.Size, device));
            var map = model.FeatureMap(input);   // [1, C, h, w]
            int channels = (int)map.shape[1], height = (int)map.shape[2], width = (int)map.shape[3];
            var cells = nn.functional.normalize(map[0].permute(1, 2, 0).reshape(height * width, channels), p: 2, dim: 1);
            var pooled = nn.functional.normalize(map.mean([2, 3]), p: 2, dim: 1);
            return (cells.cpu().data<float>().ToArray(), pooled.cpu().data<float>().ToArray(), width, height, channels);
        }
        finally
        {
            model.train(training);
        }
    }

    private float[]? ReferenceEmbedding(double now)
    {
        float[]? found = null;
        foreach (var (pts, embedding) in _history)
        {
            if (pts > now - _referenceSeconds) break;
            found = embedding;
        }
        return found ?? (_history.Count > 0 ? _history.Peek().Embedding : null);
    }

    private SimilarityHistory SelfSimilarity()
    {
        var items = _history.ToArray();
        int n = items.Length;
        var matrix = new float[n * n];
        for (int i = 0; i < n; i++)
            for (int j = i; j < n; j++)
                matrix[i * n + j] = matrix[j * n + i] = Dot(items[i].Embedding, 0, items[j].Embedding);
        var strip = matrix.AsSpan((n - 1) * n, n).ToArray();
        return new SimilarityHistory(matrix, strip, n, n > 1 ? items[^1].Pts - items[0].Pts : 0);
    }

    private static float[] CellAt(float[] cells, int width, int height, int channels, float x, float y)
    {
        int cell = Math.Min(height - 1, (int)(y * height)) * width + Math.Min(width - 1, (int)(x * width));
        return cells.AsSpan(cell * channels, channels).ToArray();
    }

    /// <summary>Each cell's similarity to one vector (cells and vector are unit length: cosine similarity).</summary>
    private static void Similarities(float[] cells, int channels, float[] vector, float[] heat)
    {
        for (int c = 0; c < heat.Length; c++) heat[c] = Dot(cells, c * channels, vector);
    }

    private static float Dot(float[] cells, int offset, ReadOnlySpan<float> vector)
    {
        float sum = 0;
        for (int k = 0; k < vector.Length; k++) sum += cells[offset + k] * vector[k];
        return sum;
    }
}
