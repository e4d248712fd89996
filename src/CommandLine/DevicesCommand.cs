using System.CommandLine;
using VideoSsl.Decode.Sources;

namespace VideoSsl.CommandLine;

/// <summary><c>videossl devices</c>: the capture devices FFmpeg can open here (cameras, the screen), as --source values.</summary>
public static class DevicesCommand
{
    public static Command Create(Cli cli)
    {
        var command = new Command("devices", "List the cameras and screens FFmpeg can capture here, each as the --source value that opens it.");
        command.SetAction(parse => cli.Guard(parse, "devices", () =>
        {
            var devices = SourceKinds.All.SelectMany(kind => kind.Devices().Select(device => (Kind: kind.Name, Device: device))).ToList();
            if (!devices.Any(d => d.Kind == "camera")) Cli.Print("No camera found. 'testsrc' gives a live synthetic source instead.");
            if (devices.Count == 0) return 0;
            int width = devices.Max(d => d.Device.Source.Length);
            foreach (var (kind, device) in devices) Cli.Print($"{device.Source.PadRight(width)}  {kind}: {device.Description}");
            return 0;
        }));
        return command;
    }
}
