using System.Text.Json;
using VideoSsl.Learning;
using VideoSsl.Tests.Support;
using static TorchSharp.torch;

namespace VideoSsl.Tests.Integration;

/// <summary>The Python side: the twins bench compares against, the GPU archive, and exported weights in PyTorch.</summary>
[Trait("Category", "Integration")]
public class PythonTwinTests(ClipSet clips) : IClassFixture<ClipSet>
{
    private static readonly string Twin = Path.Combine(AppContext.BaseDirectory, "twin");
    private static readonly string Root = FindRoot();

    private static string FindRoot()
    {
        var folder = new DirectoryInfo(AppContext.BaseDirectory);
        while (folder is not null && !File.Exists(Path.Combine(folder.FullName, "VideoSsl.sln"))) folder = folder.Parent;
        return folder?.FullName ?? throw new InvalidOperationException("repository root not found");
    }

    /// <summary>Debian's PyTorch lives in /usr/bin/python3's packages (scripts/setup installs it).</summary>
    private static (int Exit, string Stdout, string Stderr) Python(params string[] arguments) => Tool.Run("/usr/bin/python3", arguments);

    [Fact]
    public void The_pytorch_twin_of_the_train_step_runs_on_the_cpu_and_reports_its_rate()
    {
        var (exit, stdout, stderr) = Python(Path.Combine(Twin, "train_step.py"), "--size", "48", "--batch", "8", "--steps", "2");
        Assert.True(exit == 0, stderr);
        using var result = JsonDocument.Parse(stdout);
        Assert.Equal("cpu", result.RootElement.GetProperty("device").GetString());
        Assert.True(result.RootElement.GetProperty("frames_per_second").GetDouble() > 0);
        Assert.True(double.IsFinite(result.RootElement.GetProperty("loss").GetDouble()));
    }

    [Fact]
    public void The_pytorch_and_pyav_twin_of_the_pipeline_trains_on_a_clip()
    {
        var (exit, stdout, stderr) = Python(Path.Combine(Twin, "pipeline.py"), "--clip", clips.TestSrc, "--size", "48", "--batch", "4", "--steps", "3");
        Assert.True(exit == 0, stderr);
        Assert.StartsWith("steps 3 ", stdout);
    }

    [Theory]
    [InlineData("small", 32)]
    [InlineData("resnet18", 64)]
    public void Exported_weights_load_in_pytorch_and_give_the_features_embed_gives(string backbone, int size)
    {
        using var work = new TempFolder("export-py");
        // resnet18: the ImageNet copy kept beside and two pooled stages, so the export carries both backbones and the
        // choice; both with the centre (the training frames' mean, which the first step sets off zero).
        string[] model = backbone == "resnet18" ? ["--backbone", "resnet18", "--keep-imagenet", "--pooled-stages", "2,4", "--centre"] : ["--backbone", "small", "--centre"];
        var trained = VideoSslProcess.Run(work.Path, ["train", "--source", clips.TestSrc, "--out", work["run"], "--max-steps", "3",
            "--device", "cpu", .. model, "--size", $"{size}", "--batch", "4", "--neg-gap", "1"]);
        Assert.True(trained.ExitCode == 0, trained.ToString());
        var exported = VideoSslProcess.Run(work.Path, "export", "--checkpoint", work["run"], "--out", work["encoder.pt"]);
        Assert.True(exported.ExitCode == 0, exported.ToString());

        // The same random frames through the C# encoder and through PyTorch with the exported weights.
        var (checkpoint, _) = CheckpointStore.Open(work["run"]);
        using var embedder = new FrameEmbedder(checkpoint, CPU);
        var pixels = new byte[2 * size * size * 3];
        new Random(4).NextBytes(pixels);
        File.WriteAllBytes(work["frames.bin"], pixels);
        float[] expected = embedder.Embed(pixels, 2);
        string script = $$"""
            import json, sys, numpy as np, torch, torch.nn.functional as F
            sys.path.insert(0, {{JsonSerializer.Serialize(Twin)}})
            from model import encoder, embed, resnet_encoder, resnet_embed, MEAN, STD
            spec = json.load(open({{JsonSerializer.Serialize(work["encoder.json"])}}))
            if spec["backbone"] == "resnet18":
                model = resnet_encoder(spec["projection_hidden"], spec["embedding_dim"], spec["keep_imagenet"], spec["centre"])
                features_of = lambda x: resnet_embed(model, x, spec["pooled_stages"])
            else:
                model = encoder(spec["channels"], spec["projection_hidden"], spec["embedding_dim"], spec["centre"])
                features_of = lambda x: embed(model, x)
            model.load_state_dict(torch.load({{JsonSerializer.Serialize(work["encoder.pt"])}}))
            model.eval()
            frames = np.fromfile({{JsonSerializer.Serialize(work["frames.bin"])}}, dtype=np.uint8).reshape(2, {{size}}, {{size}}, 3)
            x = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
            with torch.no_grad():
                features = features_of((x - MEAN) / STD)
            print(json.dumps([spec["feature_dim"]] + features.flatten().tolist()))
            """;
        var (exit, stdout, stderr) = Python("-c", script);
        Assert.True(exit == 0, stderr);
        var actual = JsonSerializer.Deserialize<float[]>(stdout)!;
        Assert.Equal(embedder.Dimension, (int)actual[0]);
        Assert.Equal(expected.Length, actual.Length - 1);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i + 1]) < 1e-4, $"feature {i}: {expected[i]} in VideoSsl, {actual[i + 1]} in PyTorch");
    }

    [Fact]
    public void The_gpu_archive_is_built_here_small_enough_to_carry_and_without_libtorch()
    {
        // The publish must not touch the launcher's build (same RID, so the same default output folder).
        var launcherBuild = new DirectoryInfo(Path.Combine(Root, "src", "CommandLine", "bin", "Release", "net10.0"));
        var before = launcherBuild.Exists ? launcherBuild.GetFiles().ToDictionary(f => f.Name, f => f.LastWriteTimeUtc) : [];
        var (exit, _, stderr) = Tool.Run(Path.Combine(Root, "scripts", "gpu-bench"));
        Assert.True(exit == 0, stderr);
        if (launcherBuild.Exists)
            Assert.Equal(before, launcherBuild.GetFiles().ToDictionary(f => f.Name, f => f.LastWriteTimeUtc));
        var archive = new FileInfo(Path.Combine(Root, "publish", "videossl-gpu.tar.xz"));
        Assert.True(archive.Exists);
        Assert.InRange(archive.Length, 1, 64L * 1024 * 1024);
        var (listExit, listing, _) = Tool.Run("tar", "-tJf", archive.FullName);
        Assert.Equal(0, listExit);
        var files = listing.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("videossl-gpu/videossl", files);
        Assert.Contains("videossl-gpu/libLibTorchSharp.so", files);
        Assert.Contains("videossl-gpu/twin/train_step.py", files);
        Assert.DoesNotContain(files, f => f.Contains("libtorch_cpu.so"));   // LibTorch comes from PyTorch on the target
    }
}
