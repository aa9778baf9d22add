using System.Text.Json;

namespace Switchboard.Tests.Support;

/// <summary>
/// The golden vectors from CometBFT v0.38.25, kept in the repository under <c>tests/Switchboard.Tests/TestData/vectors</c>
/// (with their README.txt) and copied to the test output folder. <c>SWITCHBOARD_VECTORS=&lt;folder&gt;</c> points the
/// tests at another copy.
/// </summary>
public static class Vectors
{
    public const string EnvironmentVariable = "SWITCHBOARD_VECTORS";

    private static readonly Lazy<string> s_dir = new(Locate);

    public static string Directory => s_dir.Value;

    public static string PathOf(string file) => Path.Combine(Directory, file);

    public static JsonDocument Json(string file) => JsonDocument.Parse(File.ReadAllBytes(PathOf(file)));

    public static byte[] Hex(string hex) => Convert.FromHexString(hex);

    public static string ToHex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    private static string Locate() => TestData.Folder("vectors", EnvironmentVariable, "README.txt");
}

/// <summary>Finds a folder of test data that the test project copies to its output (<c>TestData/...</c>).</summary>
internal static class TestData
{
    /// <summary>
    /// <paramref name="name"/> under <c>TestData</c> beside the test assembly, or the folder the environment variable
    /// names. Either must hold <paramref name="marker"/>; a wrong override is an error, never a silent fallback.
    /// </summary>
    public static string Folder(string name, string environmentVariable, string marker)
    {
        var env = Environment.GetEnvironmentVariable(environmentVariable);
        if (!string.IsNullOrEmpty(env))
        {
            return File.Exists(Path.Combine(env, marker))
                ? Path.GetFullPath(env)
                : throw new DirectoryNotFoundException($"{environmentVariable}={env} has no {marker}");
        }
        var dir = Path.Combine(AppContext.BaseDirectory, "TestData", name);
        return File.Exists(Path.Combine(dir, marker))
            ? dir
            : throw new DirectoryNotFoundException($"{dir} has no {marker}: the test project copies TestData/{name} to its output; rebuild it");
    }
}
