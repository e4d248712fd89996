using System.Threading.Channels;
using VideoSsl.Decode;
using VideoSsl.Engine;
using VideoSsl.Messages;
using VideoSsl.Sampling;

namespace VideoSsl.Tests.Unit;

/// <summary>The sample stage on its own, fed decoder messages made by hand: what batches it makes of two files' frames.</summary>
[Trait("Category", "Unit")]
public class SamplerStageTests
{
    private const int Size = 4;
    private static readonly SamplerSettings Settings = new() { Batch = 6, NegGap = 1, PosWindow = 0.3, SamplesPerFrame = 2 };

    /// <summary>Two 20 s files at 10 frames/s, decoded side by side and merged one frame from each in turn, as the decode stage does.</summary>
    private static (List<(int Sources, double[] Anchors, double[] Positives, int[] Ids)> Batches, long Frames) Sample(long seed)
    {
        var items = Enumerable.Range(0, 2).Select(i => new DecodeWorkItem(i, new VideoSource(i, $"clip{i}.mp4", false), 0, null, 10)).ToList();
        var input = new Edge<DecodeOutput>("frames", capacity: 1000);
        for (int lane = 0; lane < 2; lane++)
            input.Write(new DecodeOutput(DecodeEventKind.SourceStarted, items[lane], lane, null, null, 0, lane + 1), CancellationToken.None);
        for (int index = 0; index < 200; index++)
        {
            for (int lane = 0; lane < 2; lane++)
            {
                var pixels = VideoFrame.RentBuffer(Size);
                Array.Fill(pixels, (byte)(index + 100 * lane));
                var frame = new VideoFrame(lane, lane, lane, index, index / 10.0, Size, pixels, refill: false);
                input.Write(new DecodeOutput(DecodeEventKind.Frame, items[lane], lane, frame, null, (lane + 1) % 2, 2), CancellationToken.None);
            }
        }
        for (int lane = 0; lane < 2; lane++)
            input.Write(new DecodeOutput(DecodeEventKind.SourceEnded, items[lane], lane, null, new DecodeOutcome(200, 200, null, false), 0, 2), CancellationToken.None);
        input.Complete();

        var stage = new SamplerStage(input, Settings, Size, lanes: 2, seed, items, resume: null);
        stage.Start(CancellationToken.None);
        var batches = new List<(int, double[], double[], int[])>();
        while (stage.Output.TryReadBlocking(out var batch, CancellationToken.None))
        {
            int n = batch.Count;
            batches.Add((batch.SourceIds.Take(n).Distinct().Count(), batch.AnchorPts[..n], batch.PositivePts[..n], batch.SourceIds[..n]));
            stage.Return(batch);
        }
        stage.WaitAndRethrow();
        return (batches, stage.FramesIngested);
    }

    [Fact]
    public void Batches_mix_both_files_keep_a_files_anchors_apart_and_each_positive_near_its_anchor()
    {
        var (batches, frames) = Sample(seed: 7);
        Assert.Equal(400, frames);
        Assert.NotEmpty(batches);
        Assert.Contains(batches, b => b.Sources == 2);
        foreach (var (_, anchors, positives, ids) in batches)
        {
            for (int i = 0; i < anchors.Length; i++)
            {
                Assert.InRange(Math.Abs(positives[i] - anchors[i]), 0.05, Settings.PosWindow + 1e-9);
                for (int j = i + 1; j < anchors.Length; j++)
                    if (ids[i] == ids[j]) Assert.True(Math.Abs(anchors[i] - anchors[j]) >= Settings.AnchorSpacing - 0.1, $"anchors {anchors[i]} and {anchors[j]} of one file");
            }
        }
        // Pacing: each frame earns two anchors of credit and the batches spend it, less what was earned while the rings
        // were too short for a batch (credit saved up then is capped at about one batch): the first 1.3 s of each file.
        Assert.InRange(batches.Sum(b => b.Anchors.Length), 2 * frames - 2 * 2 * 13 - Settings.Batch, 2 * frames);
    }

    [Fact]
    public void The_same_seed_makes_the_same_batches_and_another_seed_other_ones()
    {
        string Fingerprint(long seed) => string.Join(";", Sample(seed).Batches.Select(b => string.Join(",", b.Anchors) + "|" + string.Join(",", b.Positives)));
        Assert.Equal(Fingerprint(3), Fingerprint(3));
        Assert.NotEqual(Fingerprint(3), Fingerprint(4));
    }
}
