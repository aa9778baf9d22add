using System.Reflection;

namespace Switchboard.Tests.Support;

/// <summary>The repository the tests were built from (the folder holding Switchboard.slnx above the test assembly).</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The configuration the tests were built in (Release or Debug): the examples were built in the same one.</summary>
    public static string Configuration { get; } =
        typeof(RepoPaths).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx"))) return dir.FullName;
        throw new InvalidOperationException($"no Switchboard.slnx above {AppContext.BaseDirectory}");
    }

    /// <summary>The path of <c>dotnet</c> running the tests, else "dotnet" from PATH.</summary>
    public static string Dotnet { get; } =
        Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
}
