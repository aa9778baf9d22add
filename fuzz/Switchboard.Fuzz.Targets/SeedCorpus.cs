using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Switchboard.Peers;
using Switchboard.Pex;
using Switchboard.Wire.Proto;
using NetAddress = Switchboard.Peers.NetAddress;

namespace Switchboard.Fuzz;

/// <summary>
/// The first inputs of every target, decoded from the golden vectors (hex in JSON) and the captured UPnP files in
/// tests/Switchboard.Tests/TestData, plus a few built here where the repository has no captured file.
/// </summary>
public static class SeedCorpus
{
    /// <summary>Every (target, seed) pair; <paramref name="testData"/> is tests/Switchboard.Tests/TestData.</summary>
    public static IEnumerable<(string Target, byte[] Seed)> Build(string testData)
    {
        var vectors = Path.Combine(testData, "vectors");
        var hex = new Dictionary<string, List<(string Key, byte[] Bytes)>>();
        foreach (var file in Directory.EnumerateFiles(vectors, "*.json"))
        {
            var list = hex[Path.GetFileName(file)] = [];
            using var document = JsonDocument.Parse(File.ReadAllBytes(file));
            Collect(document.RootElement, null, list);
        }
        IEnumerable<byte[]> Of(string file, params string[] keys) =>
            hex.GetValueOrDefault(file, []).Where(e => keys.Contains(e.Key)).Select(e => e.Bytes);

        // Packets: single packets, and all of them in one stream; segment sizes 0 (one segment), 1, 7.
        var cometPackets = Of("packets.json", "wire_hex").Concat(Of("mconn_live_capture.json", "captured_wire_hex", "input_wire_hex"))
            .Concat(Of("pex.json", "packet_wire_hex")).ToList();
        foreach (var p in cometPackets) yield return ("packet-cometbft", [0, .. p]);
        var cometStream = cometPackets.SelectMany(p => p).ToArray();
        foreach (var segment in new byte[] { 0, 1, 7 }) yield return ("packet-cometbft", [segment, .. cometStream]);
        var legacyPackets = Of("legacy.json", "hex", "packets_hex").ToList();
        foreach (var p in legacyPackets) yield return ("packet-legacy", [0, .. p]);
        foreach (var segment in new byte[] { 0, 1, 3 }) yield return ("packet-legacy", [segment, .. legacyPackets.SelectMany(p => p)]);

        // Delimited framing: NodeInfo, AuthSig, ephemeral hellos, packets; byte 0 = read size, limit, typed.
        var nodeInfos = Of("nodeinfo.json", "wire_hex").ToList();
        var authSigs = Of("authsig.json", "wire_hex").Concat(Of("secret_connection_transcript.json", "auth_sig_msg_wire_hex")).ToList();
        var hellos = Of("secret_connection_transcript.json", "ephemeral_pubkey_msg_hex").ToList();
        foreach (var n in nodeInfos) yield return ("delimited", [4 << 3, .. n]);
        foreach (var a in authSigs) yield return ("delimited", [(2 << 3) | 3, .. a]);
        foreach (var h in hellos) yield return ("delimited", [0x80 | (1 << 3) | 7, .. h]);
        yield return ("delimited", [(3 << 3) | 1, .. cometStream]);

        // NodeInfo as a peer sends it (both vectors and both sides of the transcript).
        var transcriptNodeInfos = Of("secret_connection_transcript.json", "plaintext_hex").Where(p => p.Length > 100).ToList();
        foreach (var n in nodeInfos.Concat(transcriptNodeInfos)) yield return ("nodeinfo", n);

        foreach (var a in Of("authsig.json", "wire_hex")) yield return ("authsig", a);

        // The handshake: B's whole stream raw (it authenticates: we are A), and the sealed mode with B's real
        // AuthSig and NodeInfo, plus the wrong-key cases the fuzzer should start from.
        foreach (var stream in Of("secret_connection_transcript.json", "stream_hex"))
            yield return ("handshake", [0, .. stream]);
        var bNodeInfo = transcriptNodeInfos.FirstOrDefault(n => Encoding.ASCII.GetString(n).Contains(HandshakeTarget.Remote.Id.Value, StringComparison.Ordinal));
        var bAuthSig = AuthSig(HandshakeTarget.Remote.PublicKey.ToArray(), Sign(HandshakeTarget.Remote, HandshakeTarget.Challenge));
        yield return ("handshake", HandshakeTarget.SealedInput(bAuthSig));
        if (bNodeInfo is not null) yield return ("handshake", HandshakeTarget.SealedInput(bAuthSig, bNodeInfo));
        var identity = new byte[32];
        identity[0] = 1;
        yield return ("handshake", HandshakeTarget.SealedInput(AuthSig(identity, [.. identity, .. new byte[32]])));

        // PEX: request, addrs with 0, 1, 3 addresses, CometBFT's own example.
        foreach (var m in Of("pex.json", "message_hex")) yield return ("pex", m);
        foreach (var m in Of("derived.json", "pex_addrs_example", "pex_request")) yield return ("pex", m);

        // node_key.json as CometBFT writes it.
        yield return ("nodekey", File.ReadAllBytes(Path.Combine(vectors, "node_key.json")));

        // addrbook.json: one saved by our own book (CometBFT's format), and the smallest ones.
        yield return ("addrbook", SavedAddrBook());
        yield return ("addrbook", """{"key":"0123456789abcdef01234567","addrs":[]}"""u8.ToArray());
        yield return ("addrbook", "{}"u8.ToArray());

        // NAT: the captured SSDP reply and device description, SOAP answers and NAT-PMP packets.
        var upnp = Path.Combine(testData, "upnp");
        var ssdpReply = SsdpReply(File.ReadAllText(Path.Combine(upnp, "ssdp-reply.txt")));
        if (ssdpReply is not null) yield return ("ssdp", Encoding.ASCII.GetBytes(ssdpReply));
        var description = File.ReadAllBytes(Path.Combine(upnp, "rootDesc.xml"));
        yield return ("igd-xml", description);
        foreach (var (action, body) in SoapBodies())
            yield return ("soap", [(byte)action, .. Encoding.UTF8.GetBytes(body)]);
        foreach (var (_, body) in SoapBodies())
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            yield return ("http", [0, .. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: {bytes.Length}\r\n\r\n"), .. bytes]);
        }
        yield return ("http", [3, .. Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")]);
        yield return ("http", [15, .. Encoding.ASCII.GetBytes("HTTP/1.0 500 Internal Server Error\r\nServer: x\r\n\r\n<fault/>")]);
        yield return ("http", [0, .. Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")]);
        yield return ("http", [1, .. description.Length < 60000 ? [.. Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {description.Length}\r\n\r\n"), .. description] : description]);
        yield return ("natpmp", [0, 0, 128, 0, 0, 0, 0, 0, 42, 203, 0, 113, 7]);
        yield return ("natpmp", [1, 0, 129, 0, 0, 0, 0, 0, 42, 0x68, 0x50, 0x68, 0x50, 0, 0, 0x0e, 0x10]);
        yield return ("natpmp", [2, 0, 130, 0, 0, 0, 0, 0, 42, 0x68, 0x50, 0x68, 0x51, 0, 0, 0x0e, 0x10]);
        yield return ("natpmp", [0, 0, 128, 0, 3, 0, 0, 0, 42]);
        yield return ("route", Encoding.ASCII.GetBytes(
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n"
            + "eth0\t00000000\t0101A8C0\t0003\t0\t0\t100\t00000000\t0\t0\t0\n"
            + "eth0\t0001A8C0\t00000000\t0001\t0\t0\t100\t00FFFFFF\t0\t0\t0\n"
            + "wlan0\t00000000\t0100000A\t0003\t0\t0\t600\t00000000\t0\t0\t0\n"));

        // config.toml: CometBFT's default file (which the CLI reads) and the one in the vectors.
        foreach (var toml in new[] { Path.Combine(testData, "Operator", "cometbft_v0.38.25_default_config.toml"), Path.Combine(vectors, "cometbft_config.toml") })
            if (File.Exists(toml)) yield return ("config", File.ReadAllBytes(toml));
        yield return ("config", "moniker = \"fuzz\"\n[p2p]\nladdr = \"tcp://127.0.0.1:26656\"\npex = false\n[switchboard]\nchain_id = \"x\"\n"u8.ToArray());
        // AEAD runs: one frame, a group of 8, 9 (a second group), with and without tampering, across the nonce's word boundary.
        foreach (var (frames, counter, tamper) in new[] { (0, 0UL, 0), (7, 5UL, 0), (8, 0xFFFF_FFFCUL, 3), (23, 1UL, 200) })
        {
            var aead = new byte[45 + 64];
            aead[0] = (byte)frames;
            for (var i = 0; i < 32; i++) aead[1 + i] = (byte)(i * 7 + frames);
            BitConverter.TryWriteBytes(aead.AsSpan(33), counter);
            aead[41] = (byte)tamper;
            aead[42] = 0x10;
            aead[44] = 0x80;
            for (var i = 45; i < aead.Length; i++) aead[i] = (byte)(i * 31);
            yield return ("aead", aead);
        }
    }

    private static void Collect(JsonElement element, string? key, List<(string Key, byte[] Bytes)> into)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject()) Collect(property.Value, property.Name, into);
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray()) Collect(item, key, into);
                break;
            case JsonValueKind.String when key is not null:
                var text = element.GetString()!;
                if (text.Length % 2 == 0 && text.All(Uri.IsHexDigit) && (key == "hex" || key.EndsWith("_hex", StringComparison.Ordinal) || key.StartsWith("pex_", StringComparison.Ordinal)))
                    into.Add((key, Convert.FromHexString(text)));
                break;
        }
    }

    private static byte[] Sign(Crypto.NodeKey key, byte[] message)
    {
        var signature = new byte[Crypto.Ed25519Signer.SignatureSize];
        key.Sign(message, signature);
        return signature;
    }

    private static byte[] AuthSig(byte[] publicKey, byte[] signature) => Wire.Delimited.Encode(new AuthSigMessage
    {
        PubKey = new PublicKey { Ed25519 = ByteString.CopyFrom(publicKey) },
        Sig = ByteString.CopyFrom(signature),
    });

    private static byte[] SavedAddrBook()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"switchboard-seed-{Environment.ProcessId}");
        Directory.CreateDirectory(folder);
        try
        {
            var path = Path.Combine(folder, "addrbook.json");
            var book = new AddrBook(new AddrBookOptions { FilePath = path, Random = new Random(1), TimeProvider = Fixed.Time });
            book.Start();
            var source = NetAddress.Parse(Fixed.SourceAddress);
            string[] addresses =
            [
                "0123456789abcdef0123456789abcdef01234567@1.2.3.4:26656",
                "1123456789abcdef0123456789abcdef01234567@[2001:4860::8888]:26656",
                "2123456789abcdef0123456789abcdef01234567@9.9.9.9:26657",
            ];
            foreach (var a in addresses) book.AddAddress(NetAddress.Parse(a), source);
            book.MarkGood(NetAddress.Parse(addresses[0]).Id);
            book.MarkBad(NetAddress.Parse(addresses[2]), TimeSpan.FromHours(1));
            book.DisposeAsync().AsTask().GetAwaiter().GetResult();
            return File.ReadAllBytes(path);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The reply part of the captured exchange (after the "&lt;&lt;&lt; reply" line), with CRLF line ends.</summary>
    private static string? SsdpReply(string capture)
    {
        var lines = capture.Replace("\r", "", StringComparison.Ordinal).Split('\n');
        var start = Array.FindIndex(lines, l => l.StartsWith("<<<", StringComparison.Ordinal));
        if (start < 0) return null;
        var reply = lines.Skip(start + 1).TakeWhile(l => !l.StartsWith(">>>", StringComparison.Ordinal) && !l.StartsWith("<<<", StringComparison.Ordinal));
        return string.Join("\r\n", reply).TrimEnd() + "\r\n\r\n";
    }

    /// <summary>(action index as in the soap target, body).</summary>
    private static IEnumerable<(int Action, string Body)> SoapBodies()
    {
        const string Envelope = """<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>{0}</s:Body></s:Envelope>""";
        yield return (0, string.Format(System.Globalization.CultureInfo.InvariantCulture, Envelope,
            """<u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"><NewExternalIPAddress>203.0.113.7</NewExternalIPAddress></u:GetExternalIPAddressResponse>"""));
        yield return (1, string.Format(System.Globalization.CultureInfo.InvariantCulture, Envelope,
            """<u:AddPortMappingResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1"/>"""));
        yield return (2, string.Format(System.Globalization.CultureInfo.InvariantCulture, Envelope,
            """<s:Fault><faultcode>s:Client</faultcode><faultstring>UPnPError</faultstring><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>718</errorCode><errorDescription>ConflictInMappingEntry</errorDescription></UPnPError></detail></s:Fault>"""));
    }
}
