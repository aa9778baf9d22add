using System.Net;
using Microsoft.Extensions.Logging;
using Switchboard.Peers;
using Switchboard.Pex;

namespace Switchboard.Cli.Hosting;

/// <summary>
/// The PEX reactor and address book of a <see cref="NodeHost"/>, built from the config's <c>pex</c> section
/// (<c>seeds</c>, <c>seed_mode</c>, <c>addr_book_file</c>, <c>addr_book_strict</c>). Plugged in through
/// <see cref="NodeHostOptions.Reactors"/>; the reactor starts and stops the book (loading and saving the file) with
/// the node's Switch.
/// </summary>
internal static class NodePex
{
    /// <summary>
    /// A reactor factory for <see cref="NodeHostOptions.Reactors"/>. <paramref name="tuning"/> supplies the timing
    /// (a testnet shortens the periods); seeds and seed mode always come from the config.
    /// </summary>
    /// <param name="tuning">PEX timing (default: the library's).</param>
    /// <param name="saveInterval">How often the book is saved while running (default: the library's 2 min); a chaos
    /// testnet saves often so that a node killed with SIGKILL finds its peers again.</param>
    public static Func<NodeHost, Reactor> Factory(PexReactorOptions? tuning = null, TimeSpan? saveInterval = null) => host => Create(host, tuning, saveInterval);

    public static PexReactor Create(NodeHost host, PexReactorOptions? tuning = null, TimeSpan? saveInterval = null)
    {
        var pex = host.Config.Pex;
        var book = new AddrBook(new AddrBookOptions
        {
            FilePath = AddrBookPath(host),
            Strict = pex.AddrBookStrict,
            SaveInterval = saveInterval ?? new AddrBookOptions().SaveInterval,
        }, host.LoggerFactory.CreateLogger("Switchboard.Pex.AddrBook"));
        var options = (tuning ?? new PexReactorOptions()) with { Seeds = host.Settings.Seeds, SeedMode = pex.SeedMode };
        if (pex.AddrBookStrict) WarnAboutPrivatePeers(host);
        return new PexReactor(book, options, host.LoggerFactory.CreateLogger("Switchboard.Pex"));
    }

    /// <summary>
    /// The README's one-host recipe with CometBFT's defaults never forms a network: a strict book drops every
    /// 127.0.0.1 address the seed hands out. Say so once at start instead of leaving the operator to guess.
    /// </summary>
    private static void WarnAboutPrivatePeers(NodeHost host)
    {
        var logger = host.LoggerFactory.CreateLogger("Switchboard.Cli.Node");
        foreach (var peer in host.Settings.Seeds.Concat(host.Settings.PersistentPeers))
        {
            if (!IPAddress.TryParse(peer.Host, out var ip) || new NetAddress(peer.Id, ip, peer.Port).IsRoutable) continue;
            CliLog.StrictBookWithPrivatePeer(logger, peer.ToString(),
                host.Config.P2P.AllowDuplicateIp ? "" : " (and --allow-duplicate-ip true when the nodes share one IP address)");
            return;
        }
    }

    /// <summary><c>pex.addr_book_file</c> under the node's home (an absolute path is kept); null for a node without a home (memory only).</summary>
    public static string? AddrBookPath(NodeHost host) =>
        host.Home is { } home ? Path.GetFullPath(Path.Combine(home, host.Config.Pex.AddrBookFile)) : null;

    /// <summary>The node's PEX reactor, if it runs one.</summary>
    public static PexReactor? Of(NodeHost host) => host.Switch.Reactors.OfType<PexReactor>().FirstOrDefault();
}
