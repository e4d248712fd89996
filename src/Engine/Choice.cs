using System.Text.Json;
using System.Text.Json.Serialization;

namespace VideoSsl.Engine;

/// <summary>
/// A fixed set of choices a user types as words (<c>--loss graded</c>, <c>"kind": "graded"</c>): an enum whose
/// members are spelt in lower case, read and written the same way on the command line and in JSON, and refused in
/// one line that lists what is allowed. Code decides on the enum, never on the word.
/// </summary>
public static class Choice<T> where T : struct, Enum
{
    private static readonly (T Value, string Name)[] Members = Enum.GetValues<T>().Select(v => (v, v.ToString().ToLowerInvariant())).ToArray();

    public static IReadOnlyList<string> Names { get; } = Members.Select(m => m.Name).ToArray();

    public static string Name(T value) => Members.First(m => EqualityComparer<T>.Default.Equals(m.Value, value)).Name;

    public static bool TryParse(string? text, out T value)
    {
        foreach (var (member, name) in Members)
        {
            if (!string.Equals(name, text, StringComparison.OrdinalIgnoreCase)) continue;
            value = member;
            return true;
        }
        value = default;
        return false;
    }

    /// <summary>"auto, cpu or cuda".</summary>
    public static string List => Names.Count == 1 ? Names[0] : string.Join(", ", Names.Take(Names.Count - 1)) + " or " + Names[^1];

    /// <summary>What a user is told when a word is none of the choices: "must be auto, cpu or cuda (got 'gpu')".</summary>
    public static string Refusal(string? text) => $"must be {List} (got '{text}')";
}

/// <summary>Reads and writes a <see cref="Choice{T}"/> as its word in JSON.</summary>
public sealed class ChoiceConverter<T> : JsonConverter<T> where T : struct, Enum
{
    public override T Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        string? text = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
        return Choice<T>.TryParse(text, out var value) ? value : throw new JsonException(Choice<T>.Refusal(text ?? reader.TokenType.ToString().ToLowerInvariant()));
    }

    public override void Write(Utf8JsonWriter writer, T value, JsonSerializerOptions options) => writer.WriteStringValue(Choice<T>.Name(value));
}
