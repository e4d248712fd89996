namespace VideoSsl.Rendering.Gl;

/// <summary>The polynomials of shaders/colormap.glsl on the CPU, for tests that check the rendered colours.</summary>
public static class Colormaps
{
    public static (double R, double G, double B) Turbo(double x)
    {
        x = Math.Clamp(x, 0, 1);
        double x2 = x * x, x3 = x2 * x, x4 = x2 * x2, x5 = x4 * x;
        double r = 0.13572138 + 4.61539260 * x - 42.66032258 * x2 + 132.13108234 * x3 - 152.94239396 * x4 + 59.28637943 * x5;
        double g = 0.09140261 + 2.19418839 * x + 4.84296658 * x2 - 14.18503333 * x3 + 4.27729857 * x4 + 2.82956604 * x5;
        double b = 0.10667330 + 12.64194608 * x - 60.58204836 * x2 + 110.36276771 * x3 - 89.90310912 * x4 + 27.34824973 * x5;
        return (Math.Clamp(r, 0, 1), Math.Clamp(g, 0, 1), Math.Clamp(b, 0, 1));
    }

    public static (double R, double G, double B) Viridis(double t)
    {
        t = Math.Clamp(t, 0, 1);
        double[][] c =
        [
            [0.2777273272234177, 0.005407344544966578, 0.3340998053353061],
            [0.1050930431085774, 1.404613529898575, 1.384590162594685],
            [-0.3308618287255563, 0.214847559468213, 0.09509516302823659],
            [-4.634230498983486, -5.799100973351585, -19.33244095627987],
            [6.228269936347081, 14.17993336680509, 56.69055260068105],
            [4.776384997670288, -13.74514537774601, -65.35303263337234],
            [-5.435455855934631, 4.645852612178535, 26.3124352495832],
        ];
        var v = new double[3];
        for (int k = 0; k < 3; k++)
        {
            double value = c[6][k];
            for (int i = 5; i >= 0; i--) value = c[i][k] + t * value;
            v[k] = Math.Clamp(value, 0, 1);
        }
        return (v[0], v[1], v[2]);
    }
}
