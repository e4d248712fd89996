using System.Text.Json;
using TorchSharp;
using TorchSharp.PyBridge;
using VideoSsl.Engine;
using VideoSsl.Learning.Backbones;
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
        var settings = checkpoint.Info.Model;
        bool resnet = settings.Backbone == BackboneKind.ResNet18;
        File.WriteAllText(description, JsonSerializer.Serialize(new
        {
            format = "videossl-encoder",
            backbone = Choice<BackboneKind>.Name(settings.Backbone),
            width = settings.Width,
            projection_hidden = settings.ProjectionHidden * settings.Width,
            embedding_dim = settings.EmbeddingDim,
            channels = settings.Channels,
            blocks_per_stage = resnet ? ResNetBackbone.BlocksPerStage : null,
            frame_size = checkpoint.Info.FrameSize,
            input = "RGB, NCHW float, pixel/255 then (x - mean) / std per channel",
            input_conversion = resnet
                ? "inside the backbone: channels reversed to BGR, back to 0-255, minus the buffer backbone.mean_image (1x3x224x224, resized bilinearly to the frame size)"
                : null,
            mean = new[] { 0.485, 0.456, 0.406 },
            std = new[] { 0.229, 0.224, 0.225 },
            pooled_stages = settings.PooledStageIndexes.Select(i => i + 1).ToArray(),
            keep_imagenet = settings.KeepImageNet,
            centre = settings.Centre,
            embedding = "each pooled stage's output averaged over space and L2-normalised, the stages side by side (the kept ImageNet backbone's after the adapted one's), divided by sqrt(count)"
                + (settings.Centre ? "; with centre, each stage's unit vector less its slice of the buffer centre (every stage's mean unit vector over the training frames, channels of stages 1 to 4 of the adapted backbone, then of the kept copy), normalised again before it goes side by side" : ""),
            feature_dim = settings.FeatureDim,
            step = checkpoint.Info.Step,
        }, new JsonSerializerOptions { WriteIndented = true }));
        return (path, description);
    }

    /// <summary>Loads exported weights back into a model of the checkpoint's shape (for checking an export).</summary>
    public static ContrastiveModel Import(string path, ModelSettings settings)
    {
        var model = new ContrastiveModel(settings, initialWeights: false);
        if (Path.GetExtension(path).Equals(".safetensors", StringComparison.OrdinalIgnoreCase)) model.load_safetensors(path);
        else model.load_py(path);
        model.eval();
        return model;
    }
}
