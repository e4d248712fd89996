using System.Globalization;
using System.Text;

namespace VideoSsl.Engine;

/// <summary>
/// Text as it may be printed: file names and URLs come from anywhere, and one holding a line break, an escape
/// sequence or a right-to-left override would otherwise forge log lines or rewrite the terminal. Control and
/// bidirectional-formatting characters become visible escapes (<c>\n</c>, <c>\x1b</c>, <c>\u202e</c>); everything
/// else, non-ASCII letters included, stays as it is.
/// </summary>
public static class Printable
{
    public static string Text(string text)
    {
        int first = 0;
        while (first < text.Length && !NeedsEscape(text[first])) first++;
        if (first == text.Length) return text;
        var escaped = new StringBuilder(text.Length + 8).Append(text, 0, first);
        for (int i = first; i < text.Length; i++)
        {
            char c = text[i];
            if (!NeedsEscape(c)) escaped.Append(c);
            else escaped.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                < '\u0100' => "\\x" + ((int)c).ToString("x2", CultureInfo.InvariantCulture),
                _ => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
            });
        }
        return escaped.ToString();
    }

    private static bool NeedsEscape(char c) =>
        char.IsControl(c) || c is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069' or '\u200e' or '\u200f' or '\u061c';
}
