using System.Text;
using Switchboard.Nat;

namespace Switchboard.Fuzz;

/// <summary>What a (possibly hostile) gateway on the LAN answers: SSDP, HTTP, SOAP and description XML, NAT-PMP.</summary>
internal static class NatTargets
{
    private static readonly Uri Location = new("http://192.168.1.1:5000/rootDesc.xml");

    private static readonly string[] Actions = ["GetExternalIPAddress", "AddPortMapping", "DeletePortMapping", "GetStatusInfo"];

    public static readonly FuzzTarget Ssdp = new(
        "ssdp",
        "SsdpResponse.Parse of one M-SEARCH reply datagram",
        input =>
        {
            var reply = SsdpResponse.Parse(input);
            FuzzTargets.Check(reply.Location.IsAbsoluteUri && reply.Location.Scheme == Uri.UriSchemeHttp, $"LOCATION {reply.Location}");
        },
        ex => ex is NatException,
        FuzzTargets.Linear(256 * 1024, 64));

    public static readonly FuzzTarget Soap = new(
        "soap",
        "Soap.ParseResponse of a SOAP envelope (byte 0 picks the action)",
        input =>
        {
            if (input.Length == 0) return;
            var action = Actions[input[0] % Actions.Length];
            var arguments = Nat.Soap.ParseResponse(action, input[1..]);
            foreach (var (name, value) in arguments)
                FuzzTargets.Check(name is not null && value is not null, "a null argument");
        },
        ex => ex is NatException,
        FuzzTargets.Linear(512 * 1024, 256));

    public static readonly FuzzTarget IgdDescription = new(
        "igd-xml",
        "IgdDescription.Parse of a UPnP device description (rootDesc.xml)",
        input => _ = Nat.IgdDescription.Parse(input, Location),
        ex => ex is NatException,
        FuzzTargets.Linear(512 * 1024, 256));

    public static readonly FuzzTarget Http = new(
        "http",
        "MiniHttp.ReadResponseAsync of an HTTP response (byte 0: read size), the transport of SOAP and the description",
        input =>
        {
            if (input.Length == 0) return;
            using var stream = new InputStream(input.AsMemory(1), (input[0] & 15) + 1);
            var response = MiniHttp.ReadResponseAsync(stream, 64 * 1024).GetAwaiter().GetResult();
            // Any three digits, 000 included: the callers act on 200 and treat every other code as a failure.
            FuzzTargets.Check(response.Status is >= 0 and <= 999, $"status {response.Status}");
            FuzzTargets.Check(response.Body.Length <= 64 * 1024 && response.Body.Length <= input.Length, $"a {response.Body.Length}-byte body");
        },
        ex => ex is NatException,
        FuzzTargets.Linear(512 * 1024, 256));

    public static readonly FuzzTarget NatPmp = new(
        "natpmp",
        "NatPmpCodec.Parse of a NAT-PMP response (byte 0 picks the request opcode: external address, map UDP, map TCP)",
        input =>
        {
            if (input.Length == 0) return;
            var opcode = (byte)(input[0] % 3);
            var response = NatPmpCodec.Parse(input.AsSpan(1), opcode);
            FuzzTargets.Check(response.Opcode == 128 + opcode, $"opcode {response.Opcode} for a request {opcode}");
        },
        ex => ex is NatException,
        FuzzTargets.Linear(16 * 1024, 0));

    public static readonly FuzzTarget RouteTable = new(
        "route",
        "DefaultGateway.Parse of a /proc/net/route table (where NAT-PMP looks for the gateway)",
        input =>
        {
            var gateway = DefaultGateway.Parse(Encoding.Latin1.GetString(input));
            FuzzTargets.Check(gateway is null || gateway.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork, $"gateway {gateway}");
        },
        _ => false,
        FuzzTargets.Linear(64 * 1024, 256));
}
