using VideoSsl.Engine;
using VideoSsl.Graph;
using VideoSsl.Learning;
using VideoSsl.Tests.Support;

namespace VideoSsl.Tests.Unit;

[Trait("Category", "Unit")]
public class ConfigurationTests
{
    [Fact]
    public void Defaults_are_valid_and_survive_a_json_round_trip()
    {
        var config = new RunConfig { Sources = ["a.mp4"], Out = "run" }.Validated();
        var back = RunConfig.FromJson(config.ToJson(), "test");
        Assert.Equal(config.ToJson(), back.ToJson());
        Assert.Contains("\"pos-window\": 0.5", config.ToJson());
        Assert.Contains("\"lr\": 0.001", config.ToJson());
    }

    [Fact]
    public void The_default_is_the_adapted_imagenet_resnet18_and_a_partial_config_keeps_what_it_does_not_name()
    {
        var config = new RunConfig();
        Assert.Equal(Learning.Backbones.BackboneKind.ResNet18, config.Trainer.Model.Backbone);
        Assert.Equal(Learning.Backbones.InitKind.ImageNet, config.Trainer.Model.Init);
        Assert.Equal(128, config.Decode.Size);
        Assert.Equal(2, config.Trainer.Adapt.FreezeStages);
        Assert.Equal(0.99, config.Trainer.Optimizer.WeightAverage);
        // The weight average comes with the backbone: the small encoder keeps its last step's weights, and going
        // back to resnet18 brings the average back without touching the rest of the optimizer's settings.
        var small = config with { Trainer = config.Trainer with { Optimizer = config.Trainer.Optimizer with { LearningRate = 0.01 } } };
        small = small.WithBackbone(Learning.Backbones.BackboneKind.Small);
        Assert.Equal(0, small.Trainer.Optimizer.WeightAverage);
        Assert.Equal(new OptimizerSettings { LearningRate = 0.01, WeightAverage = 0.99 }, small.WithBackbone(Learning.Backbones.BackboneKind.ResNet18).Trainer.Optimizer);

        // Only the embedding size named: the backbone, its frame size and its adaptation stay the defaults.
        var partial = RunConfig.FromJson("""{"sources": ["a.mp4"], "out": "run", "trainer": {"model": {"embedding-dim": 64}}}""", "partial.json");
        Assert.Equal(64, partial.Trainer.Model.EmbeddingDim);
        Assert.Equal(config.Trainer.Model with { EmbeddingDim = 64 }, partial.Trainer.Model with { PooledStages = config.Trainer.Model.PooledStages });
        Assert.Equal([2, 3, 4], partial.Trainer.Model.PooledStages!);
        Assert.Equal(config.Trainer.Adapt, partial.Trainer.Adapt);
        Assert.Equal(0.99, partial.Trainer.Optimizer.WeightAverage);
        Assert.Equal(128, partial.Decode.Size);
    }

    [Fact]
    public void The_graded_falloff_comes_with_the_backbone_and_an_older_written_config_keeps_the_exponential_it_trained_with()
    {
        var config = new RunConfig();
        Assert.Equal(new LossSettings { Falloff = TimeFalloff.Power, FalloffPower = 2, TimeScale = 10 }, config.Trainer.Loss);
        var small = config.WithBackbone(Learning.Backbones.BackboneKind.Small);
        Assert.Equal(new LossSettings(), small.Trainer.Loss);
        Assert.Equal(TimeFalloff.Exponential, small.Trainer.Loss.Falloff);
        Assert.Equal(3, small.Trainer.Loss.TimeScale);
        Assert.Equal(config.Trainer.Loss, small.WithBackbone(Learning.Backbones.BackboneKind.ResNet18).Trainer.Loss);

        // A run folder's config.json from before --time-falloff: its loss has no "falloff" and trained with the exponential.
        var json = System.Text.Json.Nodes.JsonNode.Parse(new RunConfig { Sources = ["a.mp4"], Out = "run" }.ToJson())!;
        var loss = json["trainer"]!["loss"]!.AsObject();
        loss.Remove("falloff");
        loss.Remove("falloff-power");
        loss["time-scale"] = 3.0;
        var written = RunConfig.FromJson(json.ToJsonString(), "config.json", written: true);
        Assert.Equal(TimeFalloff.Exponential, written.Trainer.Loss.Falloff);
        Assert.Equal(3, written.Trainer.Loss.TimeScale);
        // The same keys in a user's file mean today's defaults for what it leaves out.
        Assert.Equal(TimeFalloff.Power, RunConfig.FromJson(json.ToJsonString(), "mine.json").Trainer.Loss.Falloff);
    }

    [Fact]
    public void A_config_written_before_the_resnet18_backbone_reads_as_the_small_encoder_it_trained()
    {
        // A run folder's config.json from an older build: the model has a width and no backbone, there is no "adapt".
        var small = new RunConfig { Sources = ["a.mp4"], Out = "run" }.WithBackbone(Learning.Backbones.BackboneKind.Small);
        var json = System.Text.Json.Nodes.JsonNode.Parse(small.ToJson())!;
        foreach (var key in new[] { "backbone", "init", "pooled-stages", "keep-imagenet" }) json["trainer"]!["model"]!.AsObject().Remove(key);
        json["trainer"]!.AsObject().Remove("adapt");
        var read = RunConfig.FromJson(json.ToJsonString(), "config.json");
        Assert.Equal(small.Trainer.Model, read.Trainer.Model with { PooledStages = read.Trainer.Model.PooledStages });
        Assert.Null(read.Trainer.Model.PooledStages);
        Assert.Equal(new AdaptSettings(), read.Trainer.Adapt);
        Assert.Equal(small.ToJson(), read.ToJson());
    }

    [Theory]
    [InlineData("pos-window", "must be larger than pos-window")]
    [InlineData("batch", "batch must be at least 2")]
    [InlineData("size", "size must be between")]
    [InlineData("time-scale", "time-scale must be above 0")]
    [InlineData("video-weight", "video-weight must be from 0 to 1")]
    [InlineData("falloff-power", "falloff-power must be above 0")]
    [InlineData("holdout-tail", "holdout-tail must be from 0 to 0.5")]
    [InlineData("ffmpeg-threads", "ffmpeg-threads must be between 0 and 64")]
    [InlineData("triplet-positives", "the triplet loss takes one positive per anchor")]
    public void Contradictory_settings_are_refused_before_anything_starts(string what, string expected)
    {
        var config = new RunConfig { Sources = ["a.mp4"], Out = "run" };
        config = what switch
        {
            "pos-window" => config with { Sampler = config.Sampler with { PosWindow = 3, NegGap = 2 } },
            "batch" => config with { Sampler = config.Sampler with { Batch = 1 } },
            "size" => config with { Decode = config.Decode with { Size = 0 } },
            "time-scale" => config with { Trainer = config.Trainer with { Loss = config.Trainer.Loss with { Kind = LossKind.Graded, TimeScale = 0 } } },
            "video-weight" => config with { Trainer = config.Trainer with { Loss = config.Trainer.Loss with { VideoWeight = -0.5 } } },
            "falloff-power" => config with { Trainer = config.Trainer with { Loss = config.Trainer.Loss with { Falloff = TimeFalloff.Power, FalloffPower = 0 } } },
            "ffmpeg-threads" => config with { Decode = config.Decode with { FfmpegThreads = -1 } },
            "holdout-tail" => config with { Monitor = config.Monitor with { HoldoutTail = 0.7 } },
            _ => config with { Sampler = config.Sampler with { Positives = 2 }, Trainer = config.Trainer with { Loss = config.Trainer.Loss with { Kind = LossKind.Triplet } } },
        };
        var error = Assert.Throws<UserError>(() => config.Validated());
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_config_file_with_an_unknown_key_is_refused_naming_the_file()
    {
        using var folder = new TempFolder("config");
        string path = folder["run.json"];
        File.WriteAllText(path, """{ "sampler": { "batsh": 12 } }""");
        var error = Assert.Throws<UserError>(() => RunConfig.FromFile(path));
        Assert.Contains(path, error.Message);
        Assert.Contains("batsh", error.Message);
    }

    [Fact]
    public void A_config_file_sets_only_what_it_names()
    {
        var config = RunConfig.FromJson("""{ "sampler": { "batch": 12 }, "trainer": { "loss": { "kind": "triplet" } } }""", "inline");
        Assert.Equal(12, config.Sampler.Batch);
        Assert.Equal(LossKind.Triplet, config.Trainer.Loss.Kind);
        Assert.Equal(0.5, config.Sampler.PosWindow);
    }

    [Theory]
    [InlineData("""{ "sampler": null }""", "'sampler' is null")]
    [InlineData("""{ "trainer": { "loss": null } }""", "'trainer.loss' is null")]
    [InlineData("""{ "limits": null, "view": null }""", "'limits' is null")]
    [InlineData("""{ "sources": null }""", "'sources' is null")]
    [InlineData("""{ "sources": ["a.mp4", null] }""", "'sources[]' is null")]
    [InlineData("""{ "out": null }""", "'out' is null")]
    [InlineData("""{ "sampler": { "batsh": 12 } }""", "unknown key 'sampler.batsh' (line 1, column")]
    [InlineData("""{ "sampler": { "batch": "many" } }""", "'sampler.batch' should be a whole number (line 1, column")]
    [InlineData("""{ "sampler": { "pos-window": true } }""", "'sampler.pos-window' should be a number")]
    [InlineData("""{ "sources": "a.mp4" }""", "'sources' should be a list")]
    [InlineData("""{ "trainer": { "loss": { "kind": "cosine" } } }""", "'trainer.loss.kind' must be graded, infonce or triplet (got 'cosine')")]
    [InlineData("""{ "device": "gpu", "view": { "view": "fullscreen" } }""", "'device' must be auto, cpu or cuda (got 'gpu')")]
    [InlineData("""{ "sampler": { "replay-policy": 3 } }""", "'sampler.replay-policy' must be reservoir or diverse (got 'number')")]
    [InlineData("""{ "sampler": { "batch": 12 } ]""", "not valid JSON at line 1, column")]
    [InlineData("""null""", "empty (null instead of an object)")]
    public void A_broken_config_file_gets_one_whole_line_naming_the_key_and_the_cause(string json, string expected)
    {
        var error = Assert.Throws<UserError>(() => RunConfig.FromJson(json, "bad.json"));
        Assert.StartsWith("config 'bad.json': ", error.Message);
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain("\n", error.Message);
        Assert.DoesNotContain(".NET", error.Message);
        Assert.DoesNotContain("System.", error.Message);
    }

    [Fact]
    public void Problems_from_the_command_line_exit_2_and_problems_from_a_file_exit_1()
    {
        var config = new RunConfig { Sources = ["a.mp4"], Out = "run", Sampler = new() { Batch = 0 } };
        Assert.Equal(UserError.BadCommandLine, Assert.Throws<UserError>(() => config.Validated(fromCommandLine: true)).ExitCode);
        Assert.Equal(UserError.BadInput, Assert.Throws<UserError>(() => config.Validated()).ExitCode);
    }

    [Fact]
    public void Files_too_short_for_the_default_batch_train_on_the_anchors_that_fit_down_to_two()
    {
        var sampler = new VideoSsl.Sampling.SamplerSettings();   // batch 32: at least 8 anchors, 2.5 s apart
        Assert.Equal(2, sampler.AnchorsForShortFiles([5.96], lanes: 2));
        Assert.Equal(3 + 2, sampler.AnchorsForShortFiles([7.6, 5.96, 5.0], lanes: 2));
        Assert.Null(sampler.AnchorsForShortFiles([2.96], lanes: 2));                     // not even two fit
        Assert.Null(sampler.AnchorsForShortFiles([60], lanes: 2));                       // a full batch fits: nothing changes
        Assert.Null((sampler with { MinAnchors = 8 }).AnchorsForShortFiles([5.96], 2));   // the user's own minimum stands
    }
}
