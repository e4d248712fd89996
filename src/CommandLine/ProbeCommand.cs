using System.CommandLine;
using System.Globalization;
using VideoSsl.Decode;

namespace VideoSsl.CommandLine;

/// <summary><c>videossl probe</c>: what FFprobe sees in a file, and what VideoSsl would decode from it.</summary>
public static class ProbeCommand
{
    public static Command Create(Cli cli)
    {
        var command = new Command("probe", "Print what FFprobe sees in video files (folders: every video file in them).");
        var paths = new Argument<string[]>("PATH") { Description = "Video files or folders", Arity = ArgumentArity.OneOrMore };
        command.Arguments.Add(paths);
        command.SetAction(parse => cli.Guard(parse, "probe", () =>
        {
            foreach (var source in SourceResolver.Resolve(parse.GetValue(paths)!))
            {
                var info = MediaProbe.Probe(source.Path, cli.Termination.Token);
                double rate = info.DecodeRate(null);
                var text = CultureInfo.InvariantCulture;
                Console.WriteLine(source.Path);
                Console.WriteLine($"  container:   {info.Container}");
                Console.WriteLine(string.Create(text, $"  duration:    {info.Duration.TotalSeconds:0.###} s"));
                Console.WriteLine($"  video:       {info.Codec}, {info.Width}x{info.Height}, {info.PixelFormat}{(info.Rotation != 0 ? $", rotated {info.Rotation} degrees" : "")}");
                Console.WriteLine(string.Create(text, $"  frame rate:  {info.FrameRate:0.###} nominal, {info.AverageFrameRate:0.###} average; decoded at {rate:0.###}"));
                Console.WriteLine($"  frames:      about {info.ExpectedFrames(rate)} at the decoded rate");
                Console.WriteLine($"  bit rate:    {(info.BitRate is { } b ? $"{b / 1000} kb/s" : "unknown")}");
                Console.WriteLine($"  audio:       {(info.HasAudio ? "yes (ignored)" : "no")}");
            }
            return 0;
        }));
        return command;
    }
}
