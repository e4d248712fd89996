using VideoSsl.Evaluation.Metrics;

namespace VideoSsl.Evaluation.Report;

/// <summary>The first two principal components of a frame set, by power iteration on the covariance matrix.</summary>
public static class Pca
{
    public static (double[] X, double[] Y) TwoComponents(FrameSet set)
    {
        int n = set.Count, d = set.Dimension;
        var mean = new double[d];
        for (int i = 0; i < n; i++) { var r = set.Row(i); for (int k = 0; k < d; k++) mean[k] += r[k]; }
        for (int k = 0; k < d; k++) mean[k] /= n;
        var covariance = new double[d, d];
        var centred = new double[d];
        for (int i = 0; i < n; i++)
        {
            var r = set.Row(i);
            for (int k = 0; k < d; k++) centred[k] = r[k] - mean[k];
            for (int a = 0; a < d; a++)
            {
                double ca = centred[a];
                if (ca == 0) continue;
                for (int b = 0; b < d; b++) covariance[a, b] += ca * centred[b];
            }
        }
        var first = Dominant(covariance, d);
        double lambda = Rayleigh(covariance, first, d);
        for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++)
            covariance[a, b] -= lambda * first[a] * first[b];   // deflate
        var second = Dominant(covariance, d);
        var x = new double[n];
        var y = new double[n];
        for (int i = 0; i < n; i++)
        {
            var r = set.Row(i);
            for (int k = 0; k < d; k++)
            {
                x[i] += (r[k] - mean[k]) * first[k];
                y[i] += (r[k] - mean[k]) * second[k];
            }
        }
        return (x, y);
    }

    private static double[] Dominant(double[,] matrix, int d)
    {
        var vector = Enumerable.Range(0, d).Select(k => 1.0 + 0.01 * k).ToArray();   // fixed start: repeatable plots
        var next = new double[d];
        for (int iteration = 0; iteration < 200; iteration++)
        {
            for (int a = 0; a < d; a++)
            {
                double sum = 0;
                for (int b = 0; b < d; b++) sum += matrix[a, b] * vector[b];
                next[a] = sum;
            }
            double norm = Math.Sqrt(next.Sum(v => v * v));
            if (norm == 0) break;
            for (int a = 0; a < d; a++) vector[a] = next[a] / norm;
        }
        return vector;
    }

    private static double Rayleigh(double[,] matrix, double[] v, int d)
    {
        double sum = 0;
        for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++)
            sum += v[a] * matrix[a, b] * v[b];
        return sum;
    }
}
