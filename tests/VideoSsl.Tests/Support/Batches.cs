using VideoSsl.Sampling;

namespace VideoSsl.Tests.Support;

/// <summary>Training batches of random pixels for tests that take real optimizer steps without decoding video.</summary>
public static class Batches
{
    /// <summary>Random pixels, anchors alternating between two sources, and a sampler state to checkpoint.</summary>
    public static TrainingBatch Random(int seed, int pairs = 6, int size = 32)
    {
        var batch = new TrainingBatch(pairs, size) { Count = pairs, FramesIngested = 100 + seed };
        new System.Random(seed).NextBytes(batch.Pixels);
        for (int i = 0; i < pairs; i++) batch.SourceIds[i] = i % 2;
        batch.State = new SamplerState([1, 2, 3, 4], 0, 100 + seed, seed, [], new DecodeCursor(0, 0, []));
        return batch;
    }
}
