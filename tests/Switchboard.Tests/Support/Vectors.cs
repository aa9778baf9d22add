using System.Text.Json;

namespace Switchboard.Tests.Support;

/// <summary>Finds the golden vectors in <c>../shared/vectors</c> beside the repository.</summary>
public static class Vectors
{
    private static readonly Lazy<string> s_dir = new(Locate);

    public static string Directory => s_dir.Value;

    public static string PathOf(string file) => Path.Combine(Directory, file);

    public static JsonDocument Json(string file) => JsonDocument.Parse(File.ReadAllBytes(PathOf(file)));

    public static byte[] Hex(string hex) => Convert.FromHexString(hex);

    public static string ToHex(ReadOnlySpan<byte> bytes) => Convert.ToHexStringLower(bytes);

    private static string Locate()
    {
        var env = Environment.GetEnvironmentVariable("SWITCHBOARD_VECTORS");
        if (!string.IsNullOrEmpty(env) && System.IO.Directory.Exists(env)) return env;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "vectors");
            if (System.IO.Directory.Exists(candidate)) return candidate;
            candidate = Path.Combine(dir.FullName, "..", "shared", "vectors");
            if (System.IO.Directory.Exists(candidate) && File.Exists(Path.Combine(dir.FullName, "Switchboard.slnx")))
                return Path.GetFullPath(candidate);
        }
        throw new DirectoryNotFoundException("../shared/vectors not found beside the repository (set SWITCHBOARD_VECTORS)");
    }
}
