using Switchboard.Tests.Pex;

namespace Switchboard.Tests.Support;

/// <summary>
/// The entry point of the test assembly when it is run as a program, <c>dotnet Switchboard.Tests.dll HELPER ARGS</c>:
/// small helpers that tests start as child processes, to kill them at a chosen moment. The test runner loads the
/// assembly as a library and never calls this (the project sets GenerateProgramFile=false to supply it).
/// </summary>
internal static class Program
{
    public static int Main(string[] args) => args switch
    {
        [AddrBookSaveLoop.Name, var path] => AddrBookSaveLoop.Run(path),
        _ => Usage(),
    };

    private static int Usage()
    {
        Console.Error.WriteLine($"usage: dotnet Switchboard.Tests.dll {AddrBookSaveLoop.Name} PATH   (a helper for the tests; run the tests with dotnet test)");
        return 2;
    }

    /// <summary>Starts <c>dotnet Switchboard.Tests.dll args</c> with its standard output redirected.</summary>
    public static System.Diagnostics.Process StartHelper(params string[] args)
    {
        var dotnet = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
        var psi = new System.Diagnostics.ProcessStartInfo(dotnet) { RedirectStandardOutput = true, UseShellExecute = false };
        psi.ArgumentList.Add(typeof(Program).Assembly.Location);
        foreach (var a in args) psi.ArgumentList.Add(a);
        return System.Diagnostics.Process.Start(psi)!;
    }
}
