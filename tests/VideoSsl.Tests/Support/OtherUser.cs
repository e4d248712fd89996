namespace VideoSsl.Tests.Support;

/// <summary>
/// Another local user of the machine, for attacks that need one: a shell script run as <c>nobody</c> (setpriv, from
/// util-linux), when the tests run as root, as CI does. Run as anyone else, the script runs as that same user, which
/// still plays the part of whoever got to a shared folder first.
/// </summary>
public static class OtherUser
{
    public static bool IsRoot => Environment.UserName == "root";

    /// <summary>Starts the script as the other user and returns at once (stop it with <see cref="Stop"/>).</summary>
    public static System.Diagnostics.Process Start(string script, params string[] arguments)
    {
        string[] command = IsRoot ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/bin/sh", "-c", script, "attacker", .. arguments]
            : ["/bin/sh", "-c", script, "attacker", .. arguments];
        var start = new System.Diagnostics.ProcessStartInfo(command[0]) { RedirectStandardError = true };
        foreach (string argument in command[1..]) start.ArgumentList.Add(argument);
        return System.Diagnostics.Process.Start(start)!;
    }

    public static void Stop(System.Diagnostics.Process attacker)
    {
        if (!attacker.HasExited) attacker.Kill(entireProcessTree: true);
        attacker.WaitForExit();
    }
}
