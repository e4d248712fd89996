namespace VideoSsl.Evaluation.Featurizers;

/// <summary>
/// The simplest baseline: the frame averaged down to Grid x Grid pixels (3 channels), standardised per frame (zero
/// mean, unit variance), so that only the picture's layout counts, not its brightness.
/// </summary>
public sealed class RawPixelFeaturizer(int frameSize, int grid = 16) : IFrameFeaturizer
{
    public string Name => "raw-pixels";
    public string Description => $"the frame averaged to {grid}x{grid} rgb, standardised";
    public int FrameSize { get; } = frameSize;
    public int Dimension => grid * grid * 3;

    public float[] Featurize(byte[] pixels, int frames)
    {
        var features = new float[frames * Dimension];
        int s = FrameSize;
        for (int f = 0; f < frames; f++)
        {
            var frame = pixels.AsSpan(f * s * s * 3, s * s * 3);
            var row = features.AsSpan(f * Dimension, Dimension);
            for (int gy = 0; gy < grid; gy++)
            for (int gx = 0; gx < grid; gx++)
            {
                int y0 = gy * s / grid, y1 = Math.Max(y0 + 1, (gy + 1) * s / grid);
                int x0 = gx * s / grid, x1 = Math.Max(x0 + 1, (gx + 1) * s / grid);
                for (int c = 0; c < 3; c++)
                {
                    double sum = 0;
                    for (int y = y0; y < y1; y++)
                    for (int x = x0; x < x1; x++)
                        sum += frame[(y * s + x) * 3 + c];
                    row[(gy * grid + gx) * 3 + c] = (float)(sum / ((y1 - y0) * (x1 - x0)));
                }
            }
            double mean = 0, variance = 0;
            foreach (float v in row) mean += v;
            mean /= row.Length;
            foreach (float v in row) variance += (v - mean) * (v - mean);
            double std = Math.Sqrt(variance / row.Length) + 1e-6;
            foreach (ref float v in row) v = (float)((v - mean) / std);
        }
        return features;
    }

    public void Dispose() { }
}
