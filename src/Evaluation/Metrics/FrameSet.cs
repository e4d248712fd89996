namespace VideoSsl.Evaluation.Metrics;

/// <summary>
/// Features of decoded frames, one row each (L2-normalised), with the video and time of every row. Rows of one video
/// are contiguous and in time order.
/// </summary>
public sealed class FrameSet
{
    public FrameSet(float[] features, int dimension, int[] videos, double[] times, IReadOnlyList<string> videoNames)
    {
        if (features.Length != videos.Length * dimension || times.Length != videos.Length)
            throw new ArgumentException("features, videos and times disagree on the number of frames");
        Features = features;
        Dimension = dimension;
        Videos = videos;
        Times = times;
        VideoNames = videoNames;
        Normalize();
    }

    public float[] Features { get; }
    public int Dimension { get; }
    public int[] Videos { get; }
    public double[] Times { get; }
    public IReadOnlyList<string> VideoNames { get; }
    public int Count => Videos.Length;

    public ReadOnlySpan<float> Row(int i) => Features.AsSpan(i * Dimension, Dimension);

    /// <summary>Cosine similarity of two rows (rows have unit length).</summary>
    public double Similarity(int i, int j)
    {
        var a = Row(i);
        var b = Row(j);
        double sum = 0;
        for (int k = 0; k < a.Length; k++) sum += a[k] * b[k];
        return sum;
    }

    /// <summary>Rows of each video, as [start, end) ranges, in video order.</summary>
    public IReadOnlyList<(int Video, int Start, int End)> Ranges()
    {
        var ranges = new List<(int, int, int)>();
        int start = 0;
        for (int i = 1; i <= Count; i++)
        {
            if (i == Count || Videos[i] != Videos[start])
            {
                ranges.Add((Videos[start], start, i));
                start = i;
            }
        }
        return ranges;
    }

    private void Normalize()
    {
        for (int i = 0; i < Count; i++)
        {
            var row = Features.AsSpan(i * Dimension, Dimension);
            double norm = 0;
            foreach (float v in row) norm += v * v;
            norm = Math.Sqrt(norm);
            if (norm > 0) foreach (ref float v in row) v = (float)(v / norm);
        }
    }
}
