using System.Diagnostics;
using VideoSsl.Decode;
using VideoSsl.Decode.Sources;
using VideoSsl.Engine;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Unit;

/// <summary>
/// What a source spec may make FFmpeg do: folders walked by identity (loops, links, FIFOs, names that are not
/// UTF-8), synthetic sources that cannot read files, local playlists that stay in their folder.
/// </summary>
[Trait("Category", "Unit")]
public class SourceResolverTests
{
    private static string Touch(string path, string text = "x")
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void A_folder_with_link_loops_lists_every_real_file_once()
    {
        using var work = new TempFolder("loops");
        string root = work["videos"];
        Touch(Path.Combine(root, "a.mp4"));
        Touch(Path.Combine(root, "sub", "b.mp4"));
        File.CreateSymbolicLink(Path.Combine(root, "self"), ".");
        File.CreateSymbolicLink(Path.Combine(root, "sub", "up"), "..");
        File.CreateSymbolicLink(Path.Combine(root, "alias.mp4"), "a.mp4");
        File.CreateSymbolicLink(Path.Combine(root, "dangling.mp4"), "nowhere.mp4");

        var resolved = SourceResolver.Resolve([root, Path.Combine(root, "a.mp4")]);

        Assert.Equal(["a.mp4", "sub/b.mp4"], resolved.Sources.Select(s => Path.GetRelativePath(root, s.Path)));
        Assert.Contains(resolved.Skipped, s => s.Path.EndsWith("dangling.mp4") && s.Reason.Contains("a link to nothing"));
    }

    [Fact]
    public void A_fifo_or_a_name_that_is_not_utf8_inside_a_folder_is_skipped_with_its_reason()
    {
        using var work = new TempFolder("odd-entries");
        string root = work["videos"];
        Touch(Path.Combine(root, "good.mp4"));
        Tool.Output("mkfifo", Path.Combine(root, "pipe.mp4"));
        Tool.Output("sh", "-c", "printf x > \"$1/$(printf 'bad\\377name.mp4')\"", "sh", root);

        var resolved = SourceResolver.Resolve([root]);

        Assert.Equal("good.mp4", Path.GetFileName(Assert.Single(resolved.Sources).Path));
        Assert.Contains(resolved.Skipped, s => s.Reason.Contains("pipe.mp4") && s.Reason.Contains("not a regular file (a named pipe)"));
        Assert.Contains(resolved.Skipped, s => s.Reason.Contains("not valid UTF-8"));
    }

    [Fact]
    public void A_fifo_or_a_device_named_as_a_source_is_refused_as_not_a_regular_file()
    {
        using var work = new TempFolder("fifo");
        string fifo = work["pipe.mp4"];
        Tool.Output("mkfifo", fifo);
        foreach (string path in (string[])[fifo, "/dev/zero"])
        {
            var error = Assert.Throws<UserError>(() => SourceResolver.Resolve([path]));
            Assert.Contains($"source '{path}': not a regular file", error.Message);
        }
    }

    [Fact]
    public void Folders_deeper_than_the_limit_are_reported_not_searched()
    {
        using var work = new TempFolder("deep");
        string folder = work["top"];
        for (int depth = 0; depth <= FolderWalk.MaxDepth; depth++) folder = Path.Combine(folder, "d");
        Touch(Path.Combine(folder, "too-deep.mp4"));
        Touch(work["top/shallow.mp4"]);

        var resolved = SourceResolver.Resolve([work["top"]]);

        Assert.Equal("shallow.mp4", Path.GetFileName(Assert.Single(resolved.Sources).Path));
        Assert.Contains(resolved.Skipped, s => s.Reason.Contains($"more than {FolderWalk.MaxDepth} folders deep"));
    }

    [Fact]
    public void The_walk_stops_when_cancelled()
    {
        using var work = new TempFolder("cancel");
        Touch(work["videos/a.mp4"]);
        using var cancelled = new CancellationTokenSource();
        cancelled.Cancel();
        Assert.ThrowsAny<OperationCanceledException>(() => SourceResolver.Resolve([work["videos"]], cancel: cancelled.Token));
    }

    [Theory]
    [InlineData("testsrc:life:filename=README.md:size=64x64", "takes no option 'filename'")]
    [InlineData("testsrc:life:f=README.md", "takes no option 'f'")]
    [InlineData("testsrc:cellauto:filename=x", "takes no option 'filename'")]
    [InlineData("testsrc:testsrc:size=16000x16000", "outside 16x16 to 4096x4096")]
    [InlineData("testsrc:testsrc2:s=hd1080", "size must be WIDTHxHEIGHT")]
    [InlineData("testsrc:testsrc2:rate=100000", "rate must be a number")]
    [InlineData("testsrc:mandelbrot:maxiter=3,movie=x", "options must be key=value")]
    [InlineData("testsrc:movie=/etc/passwd", "not a synthetic source")]
    public void Synthetic_sources_refuse_options_that_could_read_files_or_exhaust_memory(string spec, string expected)
    {
        var error = Assert.Throws<UserError>(() => SyntheticSource.Graph(spec, 64, 36, 30));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void Synthetic_sources_keep_their_drawing_options_and_get_a_size_only_where_they_take_one()
    {
        Assert.Equal("life=rate=30:size=64x36:mold=10:life_color=#00ff00", SyntheticSource.Graph("testsrc:life:mold=10:life_color=#00ff00", 64, 36, 30));
        Assert.Equal("testsrc2=rate=30:size=64x36", SyntheticSource.Graph("testsrc", 64, 36, 30));
        Assert.Equal("testsrc2=size=320x240:rate=10", SyntheticSource.Graph("testsrc:testsrc2:size=320x240:rate=10", 64, 36, 30));
        Assert.Equal("allrgb=rate=30", SyntheticSource.Graph("testsrc:allrgb", 64, 36, 30));
    }

    [Fact]
    public void Every_generator_and_its_allowed_options_exist_in_this_ffmpeg_and_none_reads_a_file()
    {
        foreach (var (name, options) in SyntheticSource.Generators)
        {
            string help = Tool.Output("ffmpeg", "-hide_banner", "-h", $"filter={name}");
            foreach (string option in options) Assert.Contains($"   {option} ", help);
            Assert.DoesNotContain(options, o => o is "filename" or "f");
        }
    }

    [Fact]
    public void A_local_playlist_may_name_only_files_under_its_own_folder()
    {
        using var work = new TempFolder("playlist");
        Touch(work["secret.mp4"]);
        Touch(work["hls/segment0.ts"]);
        Touch(work["hls/nested/segment1.ts"]);
        string Write(string name, string body) => Touch(work[$"hls/{name}"], "#EXTM3U\n#EXT-X-TARGETDURATION:1\n" + body + "#EXT-X-ENDLIST\n");

        LocalPlaylist.Check(Write("good.m3u8", "#EXTINF:1,\nsegment0.ts\n#EXTINF:1,\nnested/segment1.ts?x=1\n"));
        LocalPlaylist.Check(Write("variants.m3u8", "#EXT-X-STREAM-INF:BANDWIDTH=1\ngood.m3u8\n"));
        File.CreateSymbolicLink(work["hls/link.ts"], work["secret.mp4"]);
        foreach (var (name, body) in new[]
        {
            ("absolute.m3u8", $"#EXTINF:1,\n{work["secret.mp4"]}\n"),
            ("up.m3u8", "#EXTINF:1,\n../secret.mp4\n"),
            ("file-url.m3u8", $"#EXTINF:1,\nfile://{work["secret.mp4"]}\n"),
            ("other-scheme.m3u8", "#EXTINF:1,\nconcat:segment0.ts|../secret.mp4\n"),
            ("key.m3u8", "#EXT-X-KEY:METHOD=AES-128,URI=\"../secret.mp4\"\n#EXTINF:1,\nsegment0.ts\n"),
            ("link.m3u8", "#EXTINF:1,\nlink.ts\n"),
            ("nested-bad.m3u8", "#EXT-X-STREAM-INF:BANDWIDTH=1\nup.m3u8\n"),
        })
        {
            var error = Assert.Throws<UserError>(() => LocalPlaylist.Check(Write(name, body)));
            Assert.Contains("a local playlist may only use files under its own folder", error.Message);
        }
    }

    [Fact]
    public void Local_files_are_read_with_the_file_protocol_alone_and_only_demuxers_that_open_nothing_else()
    {
        string options = LocalFiles.InputOptions("/videos/clip.ts");
        Assert.Contains("-protocol_whitelist file ", options);
        string demuxers = options[(options.IndexOf("-format_whitelist ", StringComparison.Ordinal) + 18)..];
        foreach (string opener in (string[])["hls", "concat", "dash", "imf", "sdp", "rtsp", "image2", "lavfi", "webm_dash_manifest", "ffmetadata"])
            Assert.DoesNotContain(opener, demuxers.Split(','));
        Assert.StartsWith("hls,", LocalFiles.InputOptions("/videos/list.m3u8")[(LocalFiles.InputOptions("/videos/list.m3u8").IndexOf("-format_whitelist ", StringComparison.Ordinal) + 18)..]);
    }

    [Fact]
    public void Printed_names_cannot_forge_lines_or_drive_the_terminal()
    {
        Assert.Equal("clip\\nerror: forged.mp4", Printable.Text("clip\nerror: forged.mp4"));
        Assert.Equal("a\\x1b[2Jb\\u202ec", Printable.Text("a\u001b[2Jb\u202ec"));
        Assert.Equal("ünïcødé clip.mp4", Printable.Text("ünïcødé clip.mp4"));
    }

    [Theory]
    [InlineData("plain")]
    [InlineData("two words")]
    [InlineData("quote \" inside")]
    [InlineData("trailing backslash \\")]
    [InlineData("backslashes \\\\\" before a quote")]
    [InlineData("")]
    [InlineData("/bin/sh -c '\n  trap \"\" INT\n  tr \"\\0\" \" \"'")]
    public void A_quoted_argument_reaches_the_program_exactly_as_it_was(string argument)
    {
        var start = new ProcessStartInfo("/bin/sh", "-c " + FfmpegTools.Quote("printf '[%s]' \"$1\"") + " sh " + FfmpegTools.Quote(argument))
        {
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        Assert.Equal($"[{argument}]", output);
    }
}
