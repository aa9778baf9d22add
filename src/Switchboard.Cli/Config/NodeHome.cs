using Switchboard.Crypto;

namespace Switchboard.Cli.Config;

/// <summary>
/// A node's home directory, laid out as CometBFT's: <c>config/config.toml</c> (the settings, CometBFT's format),
/// <c>config/node_key.json</c> (the identity; <c>node_key_file</c>) and <c>config/addrbook.json</c>
/// (<c>p2p.addr_book_file</c>). A CometBFT home is used as it is. Default: <c>$SWITCHBOARD_HOME</c>, else
/// <c>~/.switchboard</c>.
/// </summary>
internal sealed class NodeHome(string root)
{
    public const string EnvironmentVariable = "SWITCHBOARD_HOME";

    public string Root { get; } = Path.GetFullPath(root);

    public string ConfigPath => Path.Combine(Root, "config", ConfigToml.FileName);

    /// <summary>The JSON config of Switchboard before 0.2; no longer read (<see cref="LoadConfig"/> says so).</summary>
    public string LegacyConfigPath => Path.Combine(Root, "config", "config.json");

    /// <summary>The key file named by the config (<c>node_key_file</c>), or the default when there is no config yet.</summary>
    public string KeyPath => KeyPathFor(File.Exists(ConfigPath) ? LoadConfig() : null);

    public string KeyPathFor(NodeConfig? config) =>
        Path.GetFullPath(Path.Combine(Root, config?.NodeKeyFile ?? new NodeConfig().NodeKeyFile));

    public static string DefaultRoot()
    {
        var env = Environment.GetEnvironmentVariable(EnvironmentVariable);
        return string.IsNullOrWhiteSpace(env)
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".switchboard")
            : env;
    }

    /// <summary>True when the config and the key it names exist.</summary>
    public bool IsInitialised => File.Exists(ConfigPath) && File.Exists(KeyPath);

    /// <summary>
    /// Creates whatever is missing: a config with every default (<paramref name="template"/> if given), then the node
    /// key it names. Existing files are never overwritten, so running it twice changes nothing.
    /// </summary>
    public InitResult Init(NodeConfig? template = null)
    {
        var configCreated = !File.Exists(ConfigPath);
        if (configCreated) ConfigToml.Save(template ?? new NodeConfig(), ConfigPath);
        var keyPath = KeyPath;
        Directory.CreateDirectory(Path.GetDirectoryName(keyPath)!);
        var keyCreated = !File.Exists(keyPath);
        using var key = keyCreated ? NodeKey.LoadOrGenerate(keyPath) : LoadKey();
        return new InitResult(key.Id, keyCreated, configCreated, keyPath);
    }

    /// <summary>Loads the node key the config names; a missing or malformed file is a <see cref="ConfigException"/>.</summary>
    public NodeKey LoadKey(NodeConfig? config = null)
    {
        var path = config is null ? KeyPath : KeyPathFor(config);
        if (!File.Exists(path)) throw new ConfigException($"{path}: no node key (run `switchboard init --home {Root}` or `switchboard gen-node-key --home {Root}`)");
        try
        {
            return NodeKey.Load(path);
        }
        catch (Exception ex) when (ex is FormatException or IOException or UnauthorizedAccessException)
        {
            throw new ConfigException(ex.Message.StartsWith(path, StringComparison.Ordinal) ? ex.Message : $"{path}: {ex.Message}", ex);
        }
    }

    public NodeConfig LoadConfig()
    {
        CheckNoLegacyConfig();
        return ConfigToml.Load(ConfigPath, Root);
    }

    /// <summary>
    /// config.json is no longer read: one format (CometBFT's) is simpler than two. A home that has only the old file
    /// is an error saying what to do, rather than a node silently started with defaults.
    /// </summary>
    public void CheckNoLegacyConfig()
    {
        if (File.Exists(LegacyConfigPath) && !File.Exists(ConfigPath))
            throw new ConfigException($"{LegacyConfigPath}: config.json is no longer read; the config is now CometBFT's config.toml. " +
                $"Run `switchboard init --home {Root}` to write {ConfigPath} with every default (the node key is kept), " +
                "carry your settings over (README: Configuration), then delete config.json");
    }
}

/// <summary>What <see cref="NodeHome.Init"/> did.</summary>
internal readonly record struct InitResult(NodeId NodeId, bool KeyCreated, bool ConfigCreated, string KeyPath);
