using VideoSsl.Messages;

namespace VideoSsl.Decode;

/// <summary>The work items of a run: every file once per epoch, in order, then one item per live source, each at its kind's decode rate.</summary>
public static class DecodeSchedule
{
    /// <summary>The files, every one once per epoch.</summary>
    public static IReadOnlyList<DecodeWorkItem> Files(IReadOnlyList<(VideoSource Source, VideoInfo Info)> files, int epochs, DecodeSettings settings)
    {
        var items = new List<DecodeWorkItem>();
        for (int epoch = 0; epoch < epochs; epoch++)
            foreach (var (source, info) in files)
                items.Add(new DecodeWorkItem(items.Count, source, epoch, info, FfmpegInputs.Rate(source, info, settings)));
        return items;
    }

    /// <summary>The live sources, numbered from <paramref name="firstIndex"/>.</summary>
    public static IReadOnlyList<DecodeWorkItem> Live(IEnumerable<(VideoSource Source, VideoInfo? Info)> live, int firstIndex, DecodeSettings settings) =>
        live.Select((s, i) => new DecodeWorkItem(firstIndex + i, s.Source, 0, s.Info, FfmpegInputs.Rate(s.Source, s.Info, settings))).ToList();
}
