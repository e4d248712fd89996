using TorchSharp.Modules;
using VideoSsl.Learning;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace VideoSsl.Tests.Unit;

/// <summary>The fused BatchNorm-ReLU against LibTorch's BatchNorm2d and ReLU on the same weights and input.</summary>
[Trait("Category", "Unit")]
public class BatchNormReluTests
{
    private static Tensor ChannelsLastRandom(long n, long c, long h, long w, double mean, Generator generator)
    {
        using var rows = randn([n, h, w, c], generator: generator).mul_(3).add_(mean);
        return rows.permute(0, 3, 1, 2);
    }

    private static (BatchNorm2d Norm, Tensor Input, Tensor Output, Tensor GradInput) Run(bool fused, Tensor input, Tensor gradOutput, long channels)
    {
        manual_seed(5);
        var norm = BatchNorm2d(channels);
        using (no_grad())
        {
            norm.weight!.uniform_(0.5, 1.5);
            norm.bias!.uniform_(-0.5, 0.5);
        }
        norm.train();
        var x = input.detach().requires_grad_(true);
        var y = fused ? BatchNormRelu.Forward(norm, x) : functional.relu(norm.forward(x));
        y.backward([gradOutput]);
        return (norm, x, y, x.grad!);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(40.0)]   // a mean far from zero: the statistics must not lose the variance to cancellation
    public void Matches_LibTorch_forward_backward_and_running_statistics(double mean)
    {
        var generator = manual_seed(11);
        using var input = ChannelsLastRandom(6, 16, 9, 7, mean, generator);
        using var gradOutput = ChannelsLastRandom(6, 16, 9, 7, 0, generator);
        Assert.True(BatchNormRelu.Fits(input, BatchNorm2d(16)));

        var reference = Run(fused: false, input, gradOutput, 16);
        var fused = Run(fused: true, input, gradOutput, 16);

        Assert.True(BatchNormRelu.IsChannelsLast(fused.Output));
        Assert.True(fused.Output.allclose(reference.Output, rtol: 1e-4, atol: 1e-4));
        Assert.True(fused.GradInput.allclose(reference.GradInput, rtol: 1e-3, atol: 1e-4));
        Assert.True(fused.Norm.weight!.grad!.allclose(reference.Norm.weight!.grad!, rtol: 1e-3, atol: 1e-3));
        Assert.True(fused.Norm.bias!.grad!.allclose(reference.Norm.bias!.grad!, rtol: 1e-3, atol: 1e-3));
        Assert.True(fused.Norm.running_mean!.allclose(reference.Norm.running_mean!, rtol: 1e-4, atol: 1e-4));
        Assert.True(fused.Norm.running_var!.allclose(reference.Norm.running_var!, rtol: 1e-3, atol: 1e-3));
        Assert.Equal(1, fused.Norm.num_batches_tracked!.item<long>());
        // Some outputs are clipped and some pass: the ReLU's mask is exercised both ways.
        double passed = fused.Output.gt(0).to(ScalarType.Float32).mean().item<float>();
        Assert.InRange(passed, 0.2, 0.8);
    }

    [Fact]
    public void A_gradient_in_the_default_layout_gives_the_same_result()
    {
        var generator = manual_seed(3);
        using var input = ChannelsLastRandom(4, 8, 5, 5, 1, generator);
        using var gradOutput = randn([4, 8, 5, 5], generator: generator);   // NCHW-contiguous, not channels-last
        var reference = Run(fused: false, input, gradOutput, 8);
        var fused = Run(fused: true, input, gradOutput, 8);
        Assert.True(fused.GradInput.allclose(reference.GradInput, rtol: 1e-3, atol: 1e-4));
    }

    [Fact]
    public void Other_layouts_and_evaluation_mode_take_LibTorchs_path()
    {
        using var contiguous = randn(2, 8, 4, 4);
        var norm = BatchNorm2d(8);
        Assert.False(BatchNormRelu.Fits(contiguous, norm));
        using var odd = ChannelsLastRandom(2, 5, 4, 4, 0, manual_seed(1));
        Assert.False(BatchNormRelu.Fits(odd, BatchNorm2d(5)));

        // Evaluation mode uses the running statistics (here mean 0, variance 1), not the batch's.
        norm.eval();
        using var shifted = ChannelsLastRandom(2, 8, 4, 4, 10, manual_seed(2));
        using var output = BatchNormRelu.Forward(norm, shifted);
        using var expected = functional.relu(shifted.div(Math.Sqrt(1 + norm.eps)));
        Assert.True(output.allclose(expected, rtol: 1e-5, atol: 1e-5));
    }
}
