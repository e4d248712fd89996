using System.Text.Json;
using TorchSharp;
using TorchSharp.PyBridge;
using VideoSsl.Engine;
using static TorchSharp.torch;

namespace VideoSsl.Learning;

/// <summary>
/// Writes a checkpoint's encoder for other tools: the state dict as .safetensors or as a PyTorch .pt pickle (both
/// load with plain PyTorch), and beside it a small JSON file with the shape and the input convention needed to
/// rebuild the module (see the README for the Python lines).
/// </summary>
public static class ModelExport
{
    public static (string Weights, string Description) Export(Checkpoint checkpoint, string path)
    {
        string extension = Path.GetExtension(path).ToLowerInvariant();
        if (extension is not (".safetensors" or ".pt" or ".pth"))
            throw new UserError($"out '{path}': the file must end in .safetensors, .pt or .pth");
        OutputFolder.For(path, $"out '{path}'");
        using var model = TrainingSession.LoadForInference(checkpoint, CPU);
        if (extension == ".safetensors") model.save_safetensors(path);
        else model.save_py(path);
        string description = Path.ChangeExtension(path, ".json");
        File.WriteAllText(description, JsonSerializer.Serialize(new
        {
            format = "videossl-encoder",
            width = checkpoint.Info.Model.Width,
            projection_hidden = checkpoint.Info.Model.ProjectionHidden * checkpoint.Info.Model.Width,
            embedding_dim = checkpoint.Info.Model.EmbeddingDim,
            channels = checkpoint.Info.Model.Channels,
            frame_size = checkpoint.Info.FrameSize,
            input = "RGB, NCHW float, pixel/255 then (x - mean) / std per channel",
            mean = new[] { 0.485, 0.456, 0.406 },
            std = new[] { 0.229, 0.224, 0.225 },
            embedding = "each block's ReLU output averaged over space and L2-normalised, the blocks side by side, divided by sqrt(blocks)",
            feature_dim = checkpoint.Info.Model.FeatureDim,
            step = checkpoint.Info.Step,
        }, new JsonSerializerOptions { WriteIndented = true }));
        return (path, description);
    }

    /// <summary>Loads exported weights back into a model of the checkpoint's shape (for checking an export).</summary>
    public static ContrastiveModel Import(string path, ModelSettings settings)
    {
        var model = new ContrastiveModel(settings);
        if (Path.GetExtension(path).Equals(".safetensors", StringComparison.OrdinalIgnoreCase)) model.load_safetensors(path);
        else model.load_py(path);
        model.eval();
        return model;
    }
}
