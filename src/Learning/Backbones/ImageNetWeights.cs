using System.Runtime.InteropServices;
using Onnx;
using TorchSharp.Modules;
using VideoSsl.Engine;
using static TorchSharp.torch;

namespace VideoSsl.Learning.Backbones;

/// <summary>
/// Loads the ImageNet weights of ML.NET's ResNet-18 featurizer (the ONNX files the program ships in <c>models/</c>,
/// from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18) into a <see cref="ResNetBackbone"/>. The graph is
/// read, not trusted: every residual block is found by following the data flow back from its Add, and each
/// convolution's kernel, stride, padding and shape and each BatchNorm's size must be what the module holds, so a
/// different or damaged file is refused in one line instead of giving wrong features.
/// </summary>
public static class ImageNetWeights
{
    public static string Folder => Path.Combine(AppContext.BaseDirectory, "models");
    public static string ModelPath => Path.Combine(Folder, "ResNet18.onnx");
    public static string PreprocessPath => Path.Combine(Folder, "ResNetPreprocess.onnx");

    public static void Load(ResNetBackbone backbone) => Load(backbone, ModelPath, PreprocessPath);

    public static void Load(ResNetBackbone backbone, string modelPath, string preprocessPath)
    {
        var graph = Read(modelPath).Graph;
        var layers = Layers(graph, modelPath);
        var targets = backbone.Layers().ToList();
        if (layers.Count != targets.Count)
            throw new UserError($"'{modelPath}': {layers.Count} convolutions in residual order where the resnet18 backbone has {targets.Count}");
        var initializers = graph.Initializer.ToDictionary(t => t.Name);
        using var noGrad = no_grad();
        for (int i = 0; i < targets.Count; i++)
        {
            var (name, conv, norm) = targets[i];
            var (convNode, normNode) = layers[i];
            CheckConvolution(convNode, conv, $"'{modelPath}': {name} ({convNode.Name})");
            Copy(initializers, convNode.Input[1], conv.weight!, modelPath);
            Copy(initializers, normNode.Input[1], norm.weight!, modelPath);
            Copy(initializers, normNode.Input[2], norm.bias!, modelPath);
            Copy(initializers, normNode.Input[3], norm.running_mean!, modelPath);
            Copy(initializers, normNode.Input[4], norm.running_var!, modelPath);
            float epsilon = normNode.Attribute.FirstOrDefault(a => a.Name == "epsilon")?.F ?? 1e-5f;
            if (Math.Abs(epsilon - norm.eps) > 1e-9)
                throw new UserError($"'{modelPath}': {name}'s BatchNorm epsilon is {epsilon}, where the module uses {norm.eps}");
        }
        backbone.SetMeanImage(MeanImage(preprocessPath));
    }

    private static ModelProto Read(string path)
    {
        if (!File.Exists(path))
            throw new UserError($"the ImageNet weights need '{path}'; rebuild the program (the file comes from the NuGet package Microsoft.ML.DnnImageFeaturizer.ResNet18)");
        try
        {
            return ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        }
        catch (Google.Protobuf.InvalidProtocolBufferException e)
        {
            throw new UserError($"'{path}' is not a readable ONNX model: {e.Message}", e);
        }
    }

    /// <summary>(Conv, BatchNorm) node pairs in the order of <see cref="ResNetBackbone"/>'s layers: stem, then per block conv1, conv2, shortcut projection.</summary>
    private static List<(NodeProto Conv, NodeProto Norm)> Layers(GraphProto graph, string path)
    {
        var producer = new Dictionary<string, NodeProto>();
        foreach (var node in graph.Node)
        foreach (var output in node.Output)
            producer[output] = node;
        NodeProto Producer(string tensor, string op) =>
            producer.TryGetValue(tensor, out var node) && node.OpType == op ? node
            : throw new UserError($"'{path}': '{tensor}' should come from a {op} node; this is not the ResNet-18 graph VideoSsl reads");
        (NodeProto, NodeProto) ConvNorm(string normOutput)
        {
            var norm = Producer(normOutput, "BatchNormalization");
            return (Producer(norm.Input[0], "Conv"), norm);
        }

        var layers = new List<(NodeProto, NodeProto)>();
        var stemConv = graph.Node.FirstOrDefault(n => n.OpType == "Conv")
            ?? throw new UserError($"'{path}': no convolution; this is not the ResNet-18 graph VideoSsl reads");
        var stemNorm = graph.Node.FirstOrDefault(n => n.OpType == "BatchNormalization" && n.Input[0] == stemConv.Output[0])
            ?? throw new UserError($"'{path}': the first convolution has no BatchNorm after it");
        layers.Add((stemConv, stemNorm));
        foreach (var add in graph.Node.Where(n => n.OpType == "Add"))
        {
            // One input is the main path's last BatchNorm (after a 3x3 conv), the other the shortcut.
            bool firstIsMain = producer.TryGetValue(add.Input[0], out var a) && a.OpType == "BatchNormalization"
                && Kernel(Producer(a.Input[0], "Conv")) == 3;
            var (conv2, norm2) = ConvNorm(add.Input[firstIsMain ? 0 : 1]);
            string shortcut = add.Input[firstIsMain ? 1 : 0];
            var relu = Producer(conv2.Input[0], "Relu");
            var (conv1, norm1) = ConvNorm(relu.Input[0]);
            string blockInput = conv1.Input[0];
            layers.Add((conv1, norm1));
            layers.Add((conv2, norm2));
            if (shortcut != blockInput)
            {
                var (down, downNorm) = ConvNorm(shortcut);
                if (down.Input[0] != blockInput)
                    throw new UserError($"'{path}': the shortcut of block '{add.Name}' does not start where its main path does");
                layers.Add((down, downNorm));
            }
        }
        return layers;
    }

    private static long Kernel(NodeProto conv) => Ints(conv, "kernel_shape").FirstOrDefault();

    private static long[] Ints(NodeProto node, string name) =>
        node.Attribute.FirstOrDefault(a => a.Name == name)?.Ints.ToArray() ?? [];

    /// <summary>Kernel, stride and padding as the module has them; CNTK's one-sided stride-2 padding stands for symmetric padding (see <see cref="ResNetBackbone"/>).</summary>
    private static void CheckConvolution(NodeProto node, Conv2d conv, string what)
    {
        var weight = conv.weight!;
        long kernel = weight.shape[2], stride = conv.stride[0], pad = conv.padding is { } p ? p[0] : 0;
        long[] kernelShape = Ints(node, "kernel_shape"), strides = Ints(node, "strides"), pads = Ints(node, "pads");
        if (pads.Length == 0) pads = [0, 0, 0, 0];
        bool padsFit = stride == 1 ? pads.All(v => v == pad) : pads[0] == pad && pads[1] == pad && pads[2] == pads[3] && pads[2] == Math.Max(0, pad - 1);
        if (!kernelShape.SequenceEqual([kernel, kernel]) || !strides.SequenceEqual([stride, stride]) || !padsFit
            || Ints(node, "dilations") is { Length: > 0 } d && d.Any(v => v != 1)
            || node.Attribute.FirstOrDefault(a => a.Name == "group") is { I: not 1 })
            throw new UserError($"{what}: kernel [{string.Join(",", kernelShape)}], strides [{string.Join(",", strides)}], pads [{string.Join(",", pads)}] are not the {kernel}x{kernel} stride-{stride} convolution the backbone has there");
    }

    private static void Copy(Dictionary<string, TensorProto> initializers, string name, Tensor target, string path)
    {
        if (!initializers.TryGetValue(name, out var proto))
            throw new UserError($"'{path}': '{name}' is not a stored weight");
        float[] values = Floats(proto, path);
        if (!proto.Dims.SequenceEqual(target.shape) || values.Length != target.numel())
            throw new UserError($"'{path}': weight '{name}' has shape [{string.Join(",", proto.Dims)}] where the backbone needs [{string.Join(",", target.shape)}]");
        using var source = tensor(values).view(target.shape);
        target.copy_(source);
    }

    private static float[] Floats(TensorProto proto, string path)
    {
        if (proto.DataType != (int)TensorProto.Types.DataType.Float)
            throw new UserError($"'{path}': weight '{proto.Name}' is not float32");
        if (!proto.RawData.IsEmpty)
        {
            if (!BitConverter.IsLittleEndian) throw new UserError("reading ONNX weights needs a little-endian machine");
            return MemoryMarshal.Cast<byte, float>(proto.RawData.Span).ToArray();
        }
        return proto.FloatData.ToArray();
    }

    /// <summary>The preprocessing graph's mean image (BGR, 224x224), after checking the graph is the RGB-to-BGR split, concat and subtraction.</summary>
    private static float[] MeanImage(string path)
    {
        var graph = Read(path).Graph;
        var ops = graph.Node.Select(n => n.OpType).ToArray();
        if (!ops.SequenceEqual(["Split", "Concat", "Sub"]))
            throw new UserError($"'{path}': preprocessing is {string.Join(", ", ops)}, not the Split, Concat, Sub VideoSsl reads");
        var (split, concat, sub) = (graph.Node[0], graph.Node[1], graph.Node[2]);
        if (!concat.Input.SequenceEqual(split.Output.Reverse()) || sub.Input[0] != concat.Output[0])
            throw new UserError($"'{path}': preprocessing does not reverse the channels and subtract a mean image");
        var mean = graph.Initializer.FirstOrDefault(t => t.Name == sub.Input[1])
            ?? throw new UserError($"'{path}': the mean image is not stored in the file");
        if (!mean.Dims.SequenceEqual([1L, 3, ResNetBackbone.NativeSide, ResNetBackbone.NativeSide]))
            throw new UserError($"'{path}': the mean image has shape [{string.Join(",", mean.Dims)}], not [1,3,224,224]");
        return Floats(mean, path);
    }
}
