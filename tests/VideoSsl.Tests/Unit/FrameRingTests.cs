using VideoSsl.Decode;
using VideoSsl.Messages;
using VideoSsl.Sampling;

namespace VideoSsl.Tests.Unit;

[Trait("Category", "Unit")]
public class FrameRingTests
{
    internal static VideoFrame Frame(int source, long index, double rate = 25, int workItem = -1, byte fill = 0)
    {
        var pixels = VideoFrame.RentBuffer(2);
        Array.Fill(pixels, fill, 0, 12);
        return new VideoFrame(source, workItem < 0 ? source : workItem, 0, index, index / rate, 2, pixels, refill: false);
    }

    [Fact]
    public void A_full_ring_drops_and_releases_its_oldest_frame()
    {
        var ring = new FrameRing(sourceId: 0, workItem: 0, capacity: 3);
        var first = Frame(0, 0);
        ring.Add(first);
        ring.Add(Frame(0, 1));
        ring.Add(Frame(0, 2));
        ring.Add(Frame(0, 3));

        Assert.Equal(3, ring.Count);
        Assert.Equal([1L, 2L, 3L], Enumerable.Range(0, 3).Select(i => ring[i].Index));
        Assert.Equal(1, ring.FirstIndex);
        Assert.Equal(4, ring.EndIndex);
        Assert.Throws<ObjectDisposedException>(() => first.Pixels.Length);   // its buffer went back to the pool
    }

    [Fact]
    public void Time_lookups_find_the_nearest_and_the_first_frame_at_or_after_a_time()
    {
        var ring = new FrameRing(0, 0, capacity: 100);
        for (int i = 0; i < 50; i++) ring.Add(Frame(0, i, rate: 10));   // 0.0, 0.1, ... 4.9 s

        Assert.Equal(12, ring.LowerBound(1.15));
        Assert.Equal(11, ring.Nearest(1.14));
        Assert.Equal(12, ring.Nearest(1.16));
        Assert.Equal(0, ring.Nearest(-3));
        Assert.Equal(49, ring.Nearest(99));
        Assert.Equal(4.9, ring.Span, 9);
    }

    [Fact]
    public void Frames_out_of_time_order_are_refused()
    {
        var ring = new FrameRing(0, 0, capacity: 10);
        ring.Add(Frame(0, 5));
        Assert.Throws<ArgumentException>(() => ring.Add(Frame(0, 4)));
    }
}
