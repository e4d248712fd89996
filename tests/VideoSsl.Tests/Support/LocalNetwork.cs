using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace VideoSsl.Tests.Support;

/// <summary>Loopback helpers: free ports, an FFmpeg stream sender, a tiny HTTP file server.</summary>
public static class LocalNetwork
{
    public static int FreeUdpPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    public static int FreeTcpPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    /// <summary>A second FFmpeg process sending a synthetic scene as MPEG-TS over UDP, in real time, for <paramref name="seconds"/>.</summary>
    public static Process SendUdp(int port, double seconds)
    {
        var start = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true, RedirectStandardInput = true };
        foreach (string a in new[] { "-nostdin", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25",
                     "-t", seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "-c:v", "mpeg2video", "-g", "5",
                     "-f", "mpegts", $"udp://127.0.0.1:{port}?pkt_size=1316" })
            start.ArgumentList.Add(a);
        return Process.Start(start)!;
    }

    /// <summary>Serves the files of a folder over http://127.0.0.1:PORT/ until disposed.</summary>
    public sealed class FileServer : IDisposable
    {
        private readonly HttpListener _listener = new();
        private readonly string _root;

        public FileServer(string root)
        {
            _root = root;
            Port = FreeTcpPort();
            _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
            _listener.Start();
            _ = Task.Run(ServeAsync);
        }

        public int Port { get; }
        public List<string> Requests { get; } = [];

        public string Url(string name) => $"http://127.0.0.1:{Port}/{name}";

        private async Task ServeAsync()
        {
            while (_listener.IsListening)
            {
                HttpListenerContext context;
                try { context = await _listener.GetContextAsync(); }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException) { return; }
                string name = context.Request.Url!.AbsolutePath.TrimStart('/');
                lock (Requests) Requests.Add(name);
                string path = Path.Combine(_root, name);
                if (File.Exists(path))
                {
                    byte[] body = await File.ReadAllBytesAsync(path);
                    context.Response.ContentLength64 = body.Length;
                    await context.Response.OutputStream.WriteAsync(body);
                }
                else
                {
                    context.Response.StatusCode = 404;
                }
                context.Response.Close();
            }
        }

        public void Dispose() => _listener.Close();
    }
}
