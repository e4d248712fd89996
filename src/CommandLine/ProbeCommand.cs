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
            var resolved = SourceResolver.Resolve(parse.GetValue(paths)!, cancel: cli.Termination.Token);
            foreach (var skipped in resolved.Skipped) Cli.WriteWarning(skipped.Reason + "; skipped");
            foreach (var source in resolved.Sources)
            {
                var info = MediaProbe.Probe(source.Path, cli.Termination.Token);
                double rate = info.DecodeRate(null);
                var text = CultureInfo.InvariantCulture;
                Cli.Print(source.Path);
                Cli.Print($"  container:   {info.Container}");
                Cli.Print(string.Create(text, $"  duration:    {info.Duration.TotalSeconds:0.###} s"));
                Cli.Print($"  video:       {info.Codec}, {info.Width}x{info.Height}, {info.PixelFormat}{(info.Rotation != 0 ? $", rotated {info.Rotation} degrees" : "")}");
                Cli.Print(string.Create(text, $"  frame rate:  {info.FrameRate:0.###} nominal, {info.AverageFrameRate:0.###} average; decoded at {rate:0.###}"));
                Cli.Print($"  frames:      about {info.ExpectedFrames(rate)} at the decoded rate");
                Cli.Print($"  bit rate:    {(info.BitRate is { } b ? $"{b / 1000} kb/s" : "unknown")}");
                Cli.Print($"  audio:       {(info.HasAudio ? "yes (ignored)" : "no")}");
            }
            return 0;
        }));
        return command;
    }
}
