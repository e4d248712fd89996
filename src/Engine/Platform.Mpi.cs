namespace VideoSsl.Engine;

/// <summary>How MPI is found on this operating system: the launcher's variables, the library, and how its handles are spelled.</summary>
public static partial class Platform
{
    /// <summary>
    /// The number of processes the MPI launcher started, read from the variables it sets (Open MPI's mpirun:
    /// OMPI_COMM_WORLD_SIZE; MPICH, MS-MPI's mpiexec and Slurm's srun with PMI: PMI_SIZE); null when no launcher
    /// started this process, and then libmpi is never loaded.
    /// </summary>
    public static int? MpiLaunchedSize =>
        int.TryParse(Environment.GetEnvironmentVariable("OMPI_COMM_WORLD_SIZE") ?? Environment.GetEnvironmentVariable("PMI_SIZE"), out int size) && size > 0 ? size : null;

    /// <summary>The MPI library (VIDEOSSL_MPI_LIBRARY overrides it): Open MPI's on Linux and macOS, MS-MPI's on Windows.</summary>
    public static string MpiLibrary => Override("VIDEOSSL_MPI_LIBRARY") ??
        (OperatingSystem.IsWindows() ? "msmpi.dll" : OperatingSystem.IsMacOS() ? "libmpi.40.dylib" : "libmpi.so.40");

    /// <summary>
    /// Open MPI's handles (communicator, datatypes, operations) are the addresses of exported objects; MS-MPI's are
    /// integer constants of its mpi.h. Either is passed where C passes a handle: a 64-bit register or stack slot.
    /// </summary>
    public static bool MpiHandlesAreSymbols => !OperatingSystem.IsWindows();

    /// <summary>MS-MPI's mpi.h constants, by the name of the Open MPI object they stand for.</summary>
    public static readonly IReadOnlyDictionary<string, nint> MsMpiHandles = new Dictionary<string, nint>
    {
        ["ompi_mpi_comm_world"] = 0x44000000,
        ["ompi_mpi_byte"] = 0x4c00010d,
        ["ompi_mpi_float"] = 0x4c00040a,
        ["ompi_mpi_double"] = 0x4c00080b,
        ["ompi_mpi_long_long_int"] = 0x4c000809,
        ["ompi_mpi_op_max"] = 0x58000001,
        ["ompi_mpi_op_sum"] = 0x58000003,
    };

    /// <summary>
    /// Open MPI loads its transports as plug-ins that expect libmpi's symbols in the global namespace, which .NET's
    /// NativeLibrary (dlopen with RTLD_LOCAL) does not give: load it RTLD_GLOBAL first, as mpi4py does.
    /// </summary>
    public static void LoadMpiGlobally(string library)
    {
        if (OperatingSystem.IsWindows()) return;
        const int now = 2;
        int global = OperatingSystem.IsMacOS() ? 8 : 0x100;
        if (DlOpen(library, now | global) == 0) throw new DllNotFoundException($"{library}: {System.Runtime.InteropServices.Marshal.PtrToStringUTF8(DlError())}");
    }

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "dlopen", StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    private static partial nint DlOpen(string file, int mode);

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "dlerror")]
    private static partial nint DlError();

    /// <summary>How a user gets MPI, for error messages.</summary>
    public static string MpiInstallHint =>
        OperatingSystem.IsWindows() ? "install Microsoft MPI (msmpisetup.exe) and start with mpiexec"
        : OperatingSystem.IsMacOS() ? "install it with 'brew install open-mpi'"
        : "install it with 'sudo apt-get install openmpi-bin libopenmpi-dev' (or run scripts/setup)";
}
