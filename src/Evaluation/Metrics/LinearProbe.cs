namespace VideoSsl.Evaluation.Metrics;

/// <summary>Accuracy of a linear classifier trained on frozen features.</summary>
public sealed record ProbeResult(double Accuracy, int TrainFrames, int TestFrames, int Classes);

/// <summary>
/// Multinomial logistic regression on frozen, standardised features, trained by full-batch gradient descent with
/// Adam and a small L2 penalty. The split is fixed (no randomness): for a class with several videos its last video
/// is held out; for a class with one video, the last 30% of that video's frames.
/// </summary>
public static class LinearProbe
{
    public static ProbeResult Evaluate(FrameSet set, IReadOnlyList<int> classOfVideo, int classes, int iterations = 300)
    {
        var (train, test) = Split(set, classOfVideo);
        if (train.Count == 0 || test.Count == 0) return new ProbeResult(double.NaN, train.Count, test.Count, classes);
        int d = set.Dimension;
        var (mean, std) = Standardizer(set, train);
        var weights = new double[classes * d];
        var bias = new double[classes];
        var m = new double[weights.Length + classes];
        var v = new double[weights.Length + classes];
        var gradient = new double[weights.Length + classes];
        var logits = new double[classes];
        const double rate = 0.05, beta1 = 0.9, beta2 = 0.999, penalty = 1e-3;
        for (int step = 1; step <= iterations; step++)
        {
            Array.Clear(gradient);
            foreach (int row in train)
            {
                var x = Standardized(set, row, mean, std);
                Softmax(x, weights, bias, logits);
                int label = classOfVideo[set.Videos[row]];
                for (int c = 0; c < classes; c++)
                {
                    double error = logits[c] - (c == label ? 1 : 0);
                    for (int k = 0; k < d; k++) gradient[c * d + k] += error * x[k];
                    gradient[weights.Length + c] += error;
                }
            }
            for (int i = 0; i < gradient.Length; i++)
            {
                gradient[i] /= train.Count;
                if (i < weights.Length) gradient[i] += penalty * weights[i];
                m[i] = beta1 * m[i] + (1 - beta1) * gradient[i];
                v[i] = beta2 * v[i] + (1 - beta2) * gradient[i] * gradient[i];
                double update = rate * (m[i] / (1 - Math.Pow(beta1, step))) / (Math.Sqrt(v[i] / (1 - Math.Pow(beta2, step))) + 1e-8);
                if (i < weights.Length) weights[i] -= update; else bias[i - weights.Length] -= update;
            }
        }
        int correct = 0;
        foreach (int row in test)
        {
            Softmax(Standardized(set, row, mean, std), weights, bias, logits);
            int predicted = Array.IndexOf(logits, logits.Max());
            if (predicted == classOfVideo[set.Videos[row]]) correct++;
        }
        return new ProbeResult(correct / (double)test.Count, train.Count, test.Count, classes);
    }

    private static (List<int> Train, List<int> Test) Split(FrameSet set, IReadOnlyList<int> classOfVideo)
    {
        var train = new List<int>();
        var test = new List<int>();
        var ranges = set.Ranges();
        foreach (var group in ranges.GroupBy(r => classOfVideo[r.Video]))
        {
            var videos = group.ToList();
            if (videos.Count > 1)
            {
                foreach (var (_, start, end) in videos.SkipLast(1)) train.AddRange(Enumerable.Range(start, end - start));
                test.AddRange(Enumerable.Range(videos[^1].Start, videos[^1].End - videos[^1].Start));
            }
            else
            {
                var (_, start, end) = videos[0];
                int cut = start + (int)((end - start) * 0.7);
                train.AddRange(Enumerable.Range(start, cut - start));
                test.AddRange(Enumerable.Range(cut, end - cut));
            }
        }
        return (train, test);
    }

    private static (double[] Mean, double[] Std) Standardizer(FrameSet set, List<int> rows)
    {
        int d = set.Dimension;
        var mean = new double[d];
        var std = new double[d];
        foreach (int r in rows) { var x = set.Row(r); for (int k = 0; k < d; k++) mean[k] += x[k]; }
        for (int k = 0; k < d; k++) mean[k] /= rows.Count;
        foreach (int r in rows) { var x = set.Row(r); for (int k = 0; k < d; k++) std[k] += (x[k] - mean[k]) * (x[k] - mean[k]); }
        for (int k = 0; k < d; k++) std[k] = Math.Sqrt(std[k] / rows.Count) + 1e-6;
        return (mean, std);
    }

    private static double[] Standardized(FrameSet set, int row, double[] mean, double[] std)
    {
        var x = set.Row(row);
        var z = new double[x.Length];
        for (int k = 0; k < x.Length; k++) z[k] = (x[k] - mean[k]) / std[k];
        return z;
    }

    private static void Softmax(double[] x, double[] weights, double[] bias, double[] output)
    {
        int d = x.Length;
        double max = double.NegativeInfinity;
        for (int c = 0; c < output.Length; c++)
        {
            double z = bias[c];
            for (int k = 0; k < d; k++) z += weights[c * d + k] * x[k];
            output[c] = z;
            max = Math.Max(max, z);
        }
        double sum = 0;
        for (int c = 0; c < output.Length; c++) sum += output[c] = Math.Exp(output[c] - max);
        for (int c = 0; c < output.Length; c++) output[c] /= sum;
    }
}
