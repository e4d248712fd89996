using VideoSsl.Evaluation;

namespace VideoSsl.Tests.Unit;

[Trait("Category", "Unit")]
public class ReportNamesTests
{
    [Fact]
    public void Videos_that_share_a_file_name_are_told_apart_by_folder_and_then_by_number()
    {
        var names = EvaluationRun.UniqueNames(
            ["0.mp4", "0.mp4", "x.mp4", "y.mp4", "y.mp4"],
            ["/labels/grid/0.mp4", "/labels/fractal/0.mp4", "/labels/grid/x.mp4", "/a/y.mp4", "/b/a/y.mp4"]);
        Assert.Equal(["grid/0.mp4", "fractal/0.mp4", "x.mp4", "a/y.mp4 (1)", "a/y.mp4 (2)"], names);
    }
}
