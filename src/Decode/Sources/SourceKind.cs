using VideoSsl.Engine;
using VideoSsl.Messages;

namespace VideoSsl.Decode.Sources;

/// <summary>A place on the list of what a --source value names: a capture device, shown by <c>videossl devices</c>.</summary>
public sealed record CaptureDevice(string Source, string Description);

/// <summary>
/// One kind of source (a file, a folder, a camera, a network stream, a synthetic scene, the screen): how its
/// <c>--source</c> spelling is recognised and checked, how FFmpeg opens it, at what rate it is decoded and whether it
/// is live. A new kind is one subclass in its own file and one line in <see cref="SourceKinds.All"/>.
/// </summary>
public abstract class SourceKind
{
    /// <summary>What the kind is called in messages and in <c>devices</c>.</summary>
    public abstract string Name { get; }

    /// <summary>How a user writes it, for help and errors: <c>webcam[:DEVICE]</c>.</summary>
    public abstract string Spelling { get; }

    /// <summary>Frames come at the source's own pace and must never hold it up (files are live only with --realtime).</summary>
    public abstract bool Live { get; }

    /// <summary>Whether <paramref name="spec"/> is written this kind's way. The first kind in <see cref="SourceKinds.All"/> to claim it gets it.</summary>
    public abstract bool Claims(string spec);

    /// <summary>
    /// The sources <paramref name="spec"/> stands for, checked (a folder stands for the files in it; every other
    /// kind for one source). Problems of the spec itself throw a <see cref="UserError"/>; entries found inside it that
    /// cannot be used are returned as skipped.
    /// </summary>
    public virtual SpecSources Expand(string spec, CancellationToken cancel)
    {
        Validate(spec);
        return new SpecSources([new SpecSource(spec, spec)], []);
    }

    /// <summary>Checks the spelling (throws a <see cref="UserError"/> naming the spec and the cause).</summary>
    protected virtual void Validate(string spec) { }

    /// <summary>Says at once, before anything starts, when the source cannot be there (a camera that is missing, no display).</summary>
    public virtual void CheckAvailable(VideoSource source) { }

    /// <summary>How FFmpeg opens it: the input and the options before it (protocols, formats, timeouts).</summary>
    public abstract InputPlan Plan(VideoSource source, DecodeSettings settings, double rate);

    /// <summary>The rate the source is decoded at.</summary>
    public virtual double Rate(VideoSource source, VideoInfo? info, DecodeSettings settings) => settings.Fps ?? DecodeSettings.DefaultLiveRate;

    /// <summary>The width and height of its pictures where known without opening it (the overlay sizes its frame to them).</summary>
    public virtual (int Width, int Height)? Shape(VideoSource source, DecodeSettings settings) => null;

    /// <summary>
    /// A source that listens for a sender (UDP, RTP, an SRT listener) is only silent before its sender starts: it is
    /// waited for and reopened like a dropped stream instead of failing the run when it never opened.
    /// </summary>
    public virtual bool WaitsForSender(VideoSource source) => false;

    /// <summary>The devices of this kind present on this machine, for <c>videossl devices</c>.</summary>
    public virtual IReadOnlyList<CaptureDevice> Devices() => [];
}

/// <summary>One source a spec stands for: its path or spelling, and what makes it the same as another (a file's device and inode).</summary>
public sealed record SpecSource(string Path, object Identity);

/// <summary>What one spec stands for, and what was found inside it but left out.</summary>
public sealed record SpecSources(IReadOnlyList<SpecSource> Sources, IReadOnlyList<SkippedSource> Skipped);
