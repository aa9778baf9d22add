using Switchboard.Crypto;

namespace Switchboard.Cli.Config;

/// <summary>
/// A node's home directory, laid out as CometBFT's: <c>config/node_key.json</c> (the identity, CometBFT's format) and
/// <c>config/config.json</c> (the settings). Default: <c>$SWITCHBOARD_HOME</c>, else <c>~/.switchboard</c>.
/// </summary>
internal sealed class NodeHome(string root)
{
    public const string EnvironmentVariable = "SWITCHBOARD_HOME";

    public string Root { get; } = Path.GetFullPath(root);

    public string KeyPath => Path.Combine(Root, "config", "node_key.json");

    public string ConfigPath => Path.Combine(Root, "config", "config.json");

    public static string DefaultRoot()
    {
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(env)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".switchboard")
            : env;
    }

    /// <summary>True when both files exist.</summary>
    public bool IsInitialised => File.Exists(KeyPath) && File.Exists(ConfigPath);

    /// <summary>
    /// Creates whatever is missing: a new node key, a config with every default (<paramref name="template"/> if
    /// given). Existing files are never overwritten, so running it twice changes nothing.
    /// </summary>
    public InitResult Init(NodeConfig? template = null)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(KeyPath)!);
        var keyCreated = !File.Exists(KeyPath);
        using var key = keyCreated ? NodeKey.LoadOrGenerate(KeyPath) : LoadKey();
        var configCreated = !File.Exists(ConfigPath);
        if (configCreated) ConfigFile.Save(template ?? new NodeConfig(), ConfigPath);
        return new InitResult(key.Id, keyCreated, configCreated);
    }

    /// <summary>Loads the node key; a missing or malformed file is a <see cref="ConfigException"/>.</summary>
    public NodeKey LoadKey()
    {
        if (!File.Exists(KeyPath)) throw new ConfigException($"{KeyPath}: no node key (run `switchboard init --home {Root}`)");
        try
        {
            return NodeKey.Load(KeyPath);
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(ex.Message.StartsWith(KeyPath, StringComparison.Ordinal) ? ex.Message : $"{KeyPath}: {ex.Message}", ex);
        }
    }

    public NodeConfig LoadConfig() => ConfigFile.Load(ConfigPath);
}

/// <summary>What <see cref="NodeHome.Init"/> did.</summary>
internal readonly record struct InitResult(NodeId NodeId, bool KeyCreated, bool ConfigCreated);
