using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace VideoSsl.Graph;

/// <summary>Turns what System.Text.Json reports about a configuration file into one line a user can act on.</summary>
public static partial class ConfigJson
{
    public static string Describe(JsonException e)
    {
        string where = e.Path is { Length: > 1 } path ? path.TrimStart('$', '.') : "";
        string position = e.LineNumber is { } line ? $"line {line + 1}, column {(e.BytePositionInLine ?? 0) + 1}" : "";
        if (UnknownKey().Match(e.Message) is { Success: true } unknown)
        {
            string key = unknown.Groups[1].Value;
            string full = where == key || where.EndsWith("." + key, StringComparison.Ordinal) ? where : Join(where, key);
            return $"unknown key '{full}' ({position}); the keys are those of RUN_DIR/config.json";
        }
        if (e.Message.StartsWith("must be ", StringComparison.Ordinal))
            return $"'{where}' {e.Message} ({position})";
        if (WrongType().Match(e.Message) is { Success: true } type)
            return $"'{where}' should be {Expected(type.Groups[1].Value)} ({position})";
        string cause = e.Message;
        int cut = cause.IndexOf(" Path: ", StringComparison.Ordinal);
        if (cut < 0) cut = cause.IndexOf(" LineNumber: ", StringComparison.Ordinal);
        if (cut > 0) cause = cause[..cut];
        return $"not valid JSON at {position}: {cause.TrimEnd('.', ' ')}";
    }

    /// <summary>
    /// A configuration written before the resnet18 backbone (a run folder's config.json, a checkpoint's copy): its
    /// "trainer"."model" has "width" but no "backbone", and it means the small encoder with every block pooled and
    /// no adaptation, not today's defaults. Anything else is returned as it is.
    /// </summary>
    public static string UpgradeSmallModel(string json)
    {
        var root = ParseOrNull(json);
        if (root?["trainer"] is not JsonObject trainer || trainer["model"] is not JsonObject model
            || model.ContainsKey("backbone") || !model.ContainsKey("width"))
            return json;
        model["backbone"] = "small";
        model["init"] ??= "scratch";
        if (!model.ContainsKey("pooled-stages")) model["pooled-stages"] = null;
        if (!trainer.ContainsKey("adapt")) trainer["adapt"] = new JsonObject { ["freeze-stages"] = 0, ["backbone-lr-scale"] = 1.0, ["batchnorm"] = "adapted" };
        if (root["decode"] is JsonObject decode && !decode.ContainsKey("size")) decode["size"] = 96;
        return root.ToJsonString();
    }

    /// <summary>
    /// A configuration the program wrote (a run folder's config.json, a checkpoint's copy) before the graded loss had a
    /// falloff: its "trainer"."loss" names every other loss setting and no "falloff", and it trained with the
    /// exponential, not today's resnet18 default. Only for written configurations: in a file of the user's, a loss
    /// without "falloff" means the default.
    /// </summary>
    public static string UpgradeWrittenLoss(string json)
    {
        var root = ParseOrNull(json);
        if (root?["trainer"] is not JsonObject trainer || trainer["loss"] is not JsonObject loss || loss.ContainsKey("falloff")) return json;
        loss["falloff"] = "exponential";
        loss["falloff-power"] = 1.0;
        return root.ToJsonString();
    }

    /// <summary>The configuration as a tree to upgrade, or null when it is not valid JSON (the deserializer then says what is wrong with it).</summary>
    private static JsonNode? ParseOrNull(string json)
    {
        try
        {
            return JsonNode.Parse(json, documentOptions: new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The first key of the configuration whose value is null where a value is required (JSON's null passes the
    /// deserializer for records and strings alike, and would fail much later, far from its cause).
    /// </summary>
    public static string? FirstNull(object settings, string prefix = "")
    {
        var nullability = new NullabilityInfoContext();
        foreach (var property in settings.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (!property.CanWrite || property.GetIndexParameters().Length > 0 || property.PropertyType.IsValueType) continue;
            if (property.GetCustomAttribute<System.Text.Json.Serialization.JsonIgnoreAttribute>() is not null) continue;
            string key = Join(prefix, property.GetCustomAttribute<System.Text.Json.Serialization.JsonPropertyNameAttribute>()?.Name
                ?? JsonNamingPolicy.KebabCaseLower.ConvertName(property.Name));
            object? value = property.GetValue(settings);
            if (value is null)
            {
                if (nullability.Create(property).WriteState != NullabilityState.Nullable) return key;
                continue;
            }
            if (value is System.Collections.IEnumerable items and not string)
            {
                foreach (object? item in items) if (item is null) return key + "[]";
                continue;
            }
            if (property.PropertyType.Namespace?.StartsWith("VideoSsl", StringComparison.Ordinal) == true && FirstNull(value, key) is { } inner)
                return inner;
        }
        return null;
    }

    private static string Join(string prefix, string key) => prefix.Length == 0 ? key : $"{prefix}.{key}";

    private static string Expected(string type) => type switch
    {
        _ when type.StartsWith("System.Int", StringComparison.Ordinal) || type.Contains("[System.Int", StringComparison.Ordinal) => "a whole number",
        _ when type.Contains("Double", StringComparison.Ordinal) => "a number",
        _ when type.Contains("Boolean", StringComparison.Ordinal) => "true or false",
        "System.String" => "a string in quotes",
        _ when type.Contains("List", StringComparison.Ordinal) || type.EndsWith("[]", StringComparison.Ordinal) => "a list",
        _ => "an object of keys",
    };

    [GeneratedRegex(@"The JSON property '([^']*)' could not be mapped")]
    private static partial Regex UnknownKey();

    [GeneratedRegex(@"could not be converted to ([^\s]+?)\.? Path")]
    private static partial Regex WrongType();
}
