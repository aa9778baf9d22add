using Microsoft.Extensions.Logging;
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
    public static Func<NodeHost, Reactor> Factory(PexReactorOptions? tuning = null) => host => Create(host, tuning);

    public static PexReactor Create(NodeHost host, PexReactorOptions? tuning = null)
    {
        var pex = host.Config.Pex;
        var book = new AddrBook(new AddrBookOptions
        {
            FilePath = AddrBookPath(host),
            Strict = pex.AddrBookStrict,
        }, host.LoggerFactory.CreateLogger("Switchboard.Pex.AddrBook"));
        var options = (tuning ?? new PexReactorOptions()) with { Seeds = host.Settings.Seeds, SeedMode = pex.SeedMode };
        return new PexReactor(book, options, host.LoggerFactory.CreateLogger("Switchboard.Pex"));
    }

    /// <summary><c>pex.addr_book_file</c> under the node's home (an absolute path is kept); null for a node without a home (memory only).</summary>
    public static string? AddrBookPath(NodeHost host) =>
        host.Home is { } home ? Path.GetFullPath(Path.Combine(home, host.Config.Pex.AddrBookFile)) : null;

    /// <summary>The node's PEX reactor, if it runs one.</summary>
    public static PexReactor? Of(NodeHost host) => host.Switch.Reactors.OfType<PexReactor>().FirstOrDefault();
}
