using System.Text;
using System.Text.Json;

namespace Switchboard.Cli.Config;

/// <summary>Reads and writes <see cref="NodeConfig"/> as JSON with the source-generated <see cref="CliJsonContext"/>.</summary>
internal static class ConfigFile
{
    /// <summary>1 MiB: a config file is a few KiB; anything larger is a mistake (or not a config file).</summary>
    private const long MaxSize = 1024 * 1024;

    /// <summary>Loads and parses the file; unknown properties, wrong types and nulls are <see cref="ConfigException"/>s.</summary>
    /// <remarks>Only the JSON shape is checked here; <see cref="NodeSettings.From"/> checks the values.</remarks>
    public static NodeConfig Load(string path)
    {
        byte[] bytes;
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists) throw new ConfigException($"{path}: no such file (run `switchboard init`)");
            if (info.Length > MaxSize) throw new ConfigException($"{path}: {info.Length} bytes is too large for a config file");
            bytes = File.ReadAllBytes(path);
        }
        catch (IOException ex)
        {
            throw new ConfigException($"{path}: {ex.Message}", ex);
        }
        catch (UnauthorizedAccessException ex)
        {
            throw new ConfigException($"{path}: {ex.Message}", ex);
        }
        return Parse(bytes, path);
    }

    public static NodeConfig Parse(ReadOnlySpan<byte> json, string source)
    {
        try
        {
            return JsonSerializer.Deserialize(json, CliJsonContext.Default.NodeConfig)
                ?? throw new ConfigException($"{source}: the file holds null, not a configuration object");
        }
        catch (JsonException ex)
        {
            throw new ConfigException($"{source}: {ex.Message}", ex);
        }
    }

    public static string Serialize(NodeConfig config) => JsonSerializer.Serialize(config, CliJsonContext.Default.NodeConfig);

    /// <summary>Writes the file through a temporary file and a rename, so a crash never leaves half a config.</summary>
    public static void Save(NodeConfig config, string path)
    {
        var full = Path.GetFullPath(path);
        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        var temp = full + ".tmp";
        File.WriteAllText(temp, Serialize(config) + "\n", new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
        File.Move(temp, full, overwrite: true);
    }
}
