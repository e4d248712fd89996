using VideoSsl.Decode;

namespace VideoSsl.Tests.Unit;

[Trait("Category", "Unit")]
public class FfmpegMessageTests
{
    [Fact]
    public void FFprobe_failures_shrink_to_their_causes_without_banner_or_path()
    {
        const string message = "ffprobe exited with non-zero exit-code (1 - [mov,mp4,m4a,3gp,3g2,mj2 @ 0x5622e9dc7180] moov atom not found\nclips/bad.mp4: Invalid data found when processing input)";
        Assert.Equal("moov atom not found; Invalid data found when processing input", MediaProbe.UsefulFfmpegError(message, "clips/bad.mp4"));
    }
}
