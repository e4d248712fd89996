using VideoSsl.Messages;

namespace VideoSsl.Sampling;

/// <summary>
/// The most recent frames of one pass over one source, oldest first, in a fixed-size circular buffer. Adding to a
/// full ring releases its oldest frame. Frames arrive in time order, so time look-ups are binary searches.
/// </summary>
public sealed class FrameRing
{
    private readonly VideoFrame[] _frames;
    private int _head;   // position of the oldest frame

    public FrameRing(int sourceId, int workItem, int capacity)
    {
        if (capacity < 2) throw new ArgumentOutOfRangeException(nameof(capacity), "a ring needs room for at least two frames");
        SourceId = sourceId;
        WorkItem = workItem;
        _frames = new VideoFrame[capacity];
    }

    public int SourceId { get; }
    public int WorkItem { get; }
    public int Capacity => _frames.Length;
    public int Count { get; private set; }

    /// <summary>Still receiving frames; a finished ring is kept, while memory allows, as a source of extra anchors.</summary>
    public bool Active { get; set; } = true;

    /// <summary>Frame index of the oldest frame held (the start of the range a resume re-decodes).</summary>
    public long FirstIndex { get; private set; }

    /// <summary>One past the newest frame index ever added.</summary>
    public long EndIndex { get; private set; }

    public VideoFrame this[int position] => position >= 0 && position < Count
        ? _frames[(_head + position) % _frames.Length]
        : throw new ArgumentOutOfRangeException(nameof(position));

    public double FirstPts => this[0].Pts;
    public double LastPts => this[Count - 1].Pts;
    public double Span => Count == 0 ? 0 : LastPts - FirstPts;

    /// <summary>Adds the newest frame; returns true when that pushed out a frame no batch had used.</summary>
    public bool Add(VideoFrame frame)
    {
        if (Count > 0 && frame.Pts < LastPts) throw new ArgumentException("frames must arrive in time order", nameof(frame));
        bool lostUnused = false;
        if (Count == _frames.Length)
        {
            lostUnused = !_frames[_head].Used;
            _frames[_head].Release();
            _head = (_head + 1) % _frames.Length;
            Count--;
        }
        _frames[(_head + Count) % _frames.Length] = frame;
        Count++;
        FirstIndex = this[0].Index;
        EndIndex = frame.Index + 1;
        return lostUnused;
    }

    /// <summary>Position of the first frame at or after <paramref name="pts"/> (Count if none).</summary>
    public int LowerBound(double pts)
    {
        int lo = 0, hi = Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (this[mid].Pts < pts) lo = mid + 1; else hi = mid;
        }
        return lo;
    }

    /// <summary>Position of the frame nearest to <paramref name="pts"/>.</summary>
    public int Nearest(double pts)
    {
        int after = LowerBound(pts);
        if (after == 0) return 0;
        if (after == Count) return Count - 1;
        return pts - this[after - 1].Pts <= this[after].Pts - pts ? after - 1 : after;
    }

    public void Clear()
    {
        for (int i = 0; i < Count; i++) this[i].Release();
        Count = 0;
        _head = 0;
    }
}
