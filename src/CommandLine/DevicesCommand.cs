using System.CommandLine;
using VideoSsl.Decode;

namespace VideoSsl.CommandLine;

/// <summary><c>videossl devices</c>: the cameras FFmpeg can see, as --source values.</summary>
public static class DevicesCommand
{
    public static Command Create(Cli cli)
    {
        var command = new Command("devices", "List the cameras FFmpeg can see, each as the --source value that opens it.");
        command.SetAction(parse => cli.Guard(parse, "devices", () =>
        {
            var cameras = CameraDevices.List();
            if (cameras.Count == 0)
            {
                Cli.Print("No camera found. 'testsrc' gives a live synthetic source instead.");
                return 0;
            }
            int width = cameras.Max(c => c.Source.Length);
            foreach (var camera in cameras) Cli.Print($"{camera.Source.PadRight(width)}  {camera.Description}");
            return 0;
        }));
        return command;
    }
}
