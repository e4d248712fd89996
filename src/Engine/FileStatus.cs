using System.Runtime.InteropServices;

namespace VideoSsl.Engine;

/// <summary>What kind of file system object a path names.</summary>
public enum FileKind
{
    Regular,
    Directory,
    SymbolicLink,
    CharacterDevice,
    BlockDevice,
    Fifo,
    Socket,
    Unknown,
}

/// <summary>
/// The identity (device and inode), owner, permission bits and kind of a file, from the operating system itself:
/// folder walks use the identity to visit every folder and file once whatever links lead to it, and the run lock
/// and the input checks use the kind and owner. Linux only (statx, whose layout is the same on every architecture);
/// elsewhere <see cref="Of"/> returns null and callers fall back to what .NET offers.
/// </summary>
public readonly partial record struct FileStatus(ulong Device, ulong Inode, uint Owner, uint Mode, FileKind Kind)
{
    /// <summary>The status of <paramref name="path"/> (of the link itself when <paramref name="followLinks"/> is false), or null where it cannot be read.</summary>
    public static FileStatus? Of(string path, bool followLinks = true)
    {
        if (!OperatingSystem.IsLinux()) return null;
        Span<byte> buffer = stackalloc byte[256];
        const int CurrentFolder = -100, NoFollow = 0x100, BasicStats = 0x7ff;
        unsafe
        {
            fixed (byte* raw = buffer)
                if (Statx(CurrentFolder, path, followLinks ? 0 : NoFollow, BasicStats, raw) != 0) return null;
        }
        uint owner = BitConverter.ToUInt32(buffer[20..]);
        uint mode = BitConverter.ToUInt16(buffer[28..]);
        ulong inode = BitConverter.ToUInt64(buffer[32..]);
        ulong device = ((ulong)BitConverter.ToUInt32(buffer[136..]) << 32) | BitConverter.ToUInt32(buffer[140..]);
        var kind = (mode & 0xF000) switch
        {
            0x8000 => FileKind.Regular,
            0x4000 => FileKind.Directory,
            0xA000 => FileKind.SymbolicLink,
            0x2000 => FileKind.CharacterDevice,
            0x6000 => FileKind.BlockDevice,
            0x1000 => FileKind.Fifo,
            0xC000 => FileKind.Socket,
            _ => FileKind.Unknown,
        };
        return new FileStatus(device, inode, owner, mode & 0xFFF, kind);
    }

    /// <summary>The user this process runs as (null where there are no POSIX users).</summary>
    public static uint? CurrentUser => OperatingSystem.IsWindows() ? null : GetEuid();

    /// <summary>How a user would name this kind, for messages.</summary>
    public static string Describe(FileKind kind) => kind switch
    {
        FileKind.Regular => "a regular file",
        FileKind.Directory => "a folder",
        FileKind.SymbolicLink => "a symbolic link",
        FileKind.CharacterDevice => "a character device",
        FileKind.BlockDevice => "a block device",
        FileKind.Fifo => "a named pipe",
        FileKind.Socket => "a socket",
        _ => "not a regular file",
    };

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static unsafe partial int Statx(int folder, string path, int flags, uint mask, byte* status);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint GetEuid();
}
