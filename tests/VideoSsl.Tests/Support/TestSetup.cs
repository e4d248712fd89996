// Tests run one at a time: the integration tests each start FFmpeg and LibTorch, which want both cores, and the
// checks for leftover FFmpeg processes must not see another test's processes.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
