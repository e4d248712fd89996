using System.Globalization;
using System.Text.RegularExpressions;
using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Decode.Sources;

/// <summary>
/// One of FFmpeg's synthetic scenes, paced in real time, live: <c>testsrc[:NAME[:KEY=VALUE...]]</c>. A lavfi graph
/// can do anything FFmpeg can (the movie filter opens files and URLs), and even a plain generator can read a file
/// (life's and cellauto's <c>filename</c>): so only the generators below are accepted, each with only the options that
/// draw something, every value a plain word, and frame sizes capped like any input's.
/// </summary>
public sealed partial class SyntheticSource : SourceKind
{
    public override string Name => "synthetic";
    public override string Spelling => "testsrc[:NAME[:OPTIONS]]";
    public override bool Live => true;

    public override bool Claims(string spec) => spec == "testsrc" || spec.StartsWith("testsrc:", StringComparison.Ordinal);

    protected override void Validate(string spec) => _ = Graph(spec, 16, 16, 1);

    public override InputPlan Plan(VideoSource source, DecodeSettings settings, double rate)
    {
        int side = Math.Max(settings.Size * 4, 256);
        return new InputPlan(Graph(source.Path, side, side * 9 / 16 / 2 * 2, rate), "-re -f lavfi");
    }

    /// <summary>The largest generated frame side; the generator's work grows with its area (16000x16000 took seconds a frame).</summary>
    public const int MaxSide = 4096;

    private static readonly string[] Common = ["size", "s", "rate", "r", "duration", "d", "sar"];

    /// <summary>Each generator and the options it may be given (FFmpeg's own names; file-reading ones left out).</summary>
    public static readonly IReadOnlyDictionary<string, IReadOnlySet<string>> Generators = new Dictionary<string, IReadOnlySet<string>>
    {
        ["testsrc"] = Options(Common, "decimals", "n"),
        ["testsrc2"] = Options(Common, "alpha"),
        ["smptebars"] = Options(Common),
        ["smptehdbars"] = Options(Common),
        ["rgbtestsrc"] = Options(Common, "complement", "co"),
        ["yuvtestsrc"] = Options(Common),
        ["pal75bars"] = Options(Common),
        ["pal100bars"] = Options(Common),
        ["colorspectrum"] = Options(Common, "type"),
        ["allrgb"] = Options(["rate", "r", "duration", "d", "sar"]),
        ["allyuv"] = Options(["rate", "r", "duration", "d", "sar"]),
        ["gradients"] = Options(["size", "s", "rate", "r", "duration", "d"], "c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "x0", "y0", "x1", "y1", "nb_colors", "n", "seed", "speed", "type", "t"),
        ["mandelbrot"] = Options(["size", "s", "rate", "r"], "maxiter", "start_x", "start_y", "start_scale", "end_scale", "end_pts", "bailout",
            "morphxf", "morphyf", "morphamp", "outer", "inner"),
        ["life"] = Options(["size", "s", "rate", "r"], "rule", "random_fill_ratio", "ratio", "random_seed", "seed", "stitch", "mold",
            "life_color", "death_color", "mold_color"),
        ["cellauto"] = Options(["size", "s", "rate", "r"], "pattern", "p", "rule", "random_fill_ratio", "ratio", "random_seed", "seed",
            "scroll", "start_full", "full", "stitch"),
    };

    /// <summary>
    /// The lavfi graph for a <c>testsrc</c> spec at <paramref name="width"/> x <paramref name="height"/> (unless the spec
    /// sets a size) and <paramref name="rate"/> frames/s (unless it sets a rate).
    /// </summary>
    public static string Graph(string spec, int width, int height, double rate)
    {
        string rest = spec.Length > "testsrc".Length ? spec["testsrc:".Length..] : "testsrc2";
        int split = rest.IndexOf(':');
        string name = split < 0 ? rest : rest[..split];
        if (!Generators.TryGetValue(name, out var allowed))
            throw new UserError($"source '{spec}': '{name}' is not a synthetic source ({string.Join(", ", Generators.Keys.Order())})");
        var options = new List<(string Key, string Value)>();
        foreach (string option in split < 0 ? [] : rest[(split + 1)..].Split(':'))
        {
            var match = KeyValue().Match(option);
            if (!match.Success)
                throw new UserError($"source '{spec}': options must be key=value pairs separated by ':' (letters, digits, . # -), not '{option}'");
            string key = match.Groups[1].Value, value = match.Groups[2].Value;
            if (!allowed.Contains(key))
                throw new UserError($"source '{spec}': {name} takes no option '{key}' here (allowed: {string.Join(", ", allowed.Order())})");
            if (key is "size" or "s") CheckSize(spec, value);
            if (key is "rate" or "r" && !(double.TryParse(value, CultureInfo.InvariantCulture, out double r) && r > 0 && r <= 240))
                throw new UserError($"source '{spec}': rate must be a number of frames/s above 0 and at most 240 (got '{value}')");
            options.Add((key, value));
        }
        var graph = new List<string>();
        if (!options.Any(o => o.Key is "rate" or "r")) graph.Add("rate=" + rate.ToString("0.###", CultureInfo.InvariantCulture));
        if (allowed.Contains("size") && !options.Any(o => o.Key is "size" or "s")) graph.Add($"size={width}x{height}");
        graph.AddRange(options.Select(o => $"{o.Key}={o.Value}"));
        return $"{name}={string.Join(':', graph)}";
    }

    private static void CheckSize(string spec, string value)
    {
        var size = Size().Match(value);
        if (!size.Success)
            throw new UserError($"source '{spec}': size must be WIDTHxHEIGHT in pixels (got '{value}')");
        int w = int.Parse(size.Groups[1].Value, CultureInfo.InvariantCulture), h = int.Parse(size.Groups[2].Value, CultureInfo.InvariantCulture);
        if (w is < 16 or > MaxSide || h is < 16 or > MaxSide)
            throw new UserError($"source '{spec}': size {w}x{h} is outside 16x16 to {MaxSide}x{MaxSide}");
    }

    private static IReadOnlySet<string> Options(string[] common, params string[] own) => new HashSet<string>(common.Concat(own), StringComparer.Ordinal);

    [GeneratedRegex(@"^([A-Za-z_][A-Za-z0-9_]*)=([A-Za-z0-9.#_-]+)$")]
    private static partial Regex KeyValue();

    [GeneratedRegex(@"^(\d{1,6})x(\d{1,6})$")]
    private static partial Regex Size();
}
