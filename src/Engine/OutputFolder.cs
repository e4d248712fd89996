namespace VideoSsl.Engine;

/// <summary>Makes the folder an output goes into, and says in one line why it cannot be made (a file in the way, no permission, no room).</summary>
public static class OutputFolder
{
    /// <summary>Creates <paramref name="folder"/> (and its parents) for the output the user named as <paramref name="what"/>.</summary>
    public static string Create(string folder, string what)
    {
        string full = Path.GetFullPath(folder);
        for (string? part = full; !string.IsNullOrEmpty(part); part = Path.GetDirectoryName(part))
        {
            if (File.Exists(part)) throw new UserError($"{what}: '{part}' is a file, not a folder");
            if (Directory.Exists(part)) break;
        }
        try
        {
            Directory.CreateDirectory(full);
            return full;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new UserError($"{what}: the folder '{full}' cannot be created ({e.Message})");
        }
    }

    /// <summary>Creates the folder that <paramref name="file"/> goes into.</summary>
    public static void For(string file, string what) => Create(Path.GetDirectoryName(Path.GetFullPath(file))!, what);
}
