using System.Globalization;
using System.Security;
using System.Text;
using System.Xml;

namespace Switchboard.Nat;

/// <summary>Builds SOAP 1.1 requests for UPnP actions and parses responses and faults (UDA 1.1 §3.2).</summary>
internal static class Soap
{
    /// <summary>32: the largest IGD response (GetSpecificPortMappingEntry) has 5 arguments.</summary>
    private const int MaxArguments = 32;

    public static byte[] BuildRequest(string serviceType, string action, IReadOnlyList<KeyValuePair<string, string>> arguments)
    {
        var sb = new StringBuilder();
        sb.Append("<?xml version=\"1.0\"?>\r\n<s:Envelope xmlns:s=\"http://schemas.xmlsoap.org/soap/envelope/\" ")
          .Append("s:encodingStyle=\"http://schemas.xmlsoap.org/soap/encoding/\"><s:Body>");
        sb.Append("<u:").Append(action).Append(" xmlns:u=\"").Append(SecurityElement.Escape(serviceType)).Append("\">");
        foreach (var (name, value) in arguments)
            sb.Append('<').Append(name).Append('>').Append(SecurityElement.Escape(value)).Append("</").Append(name).Append('>');
        sb.Append("</u:").Append(action).Append("></s:Body></s:Envelope>\r\n");
        return Encoding.UTF8.GetBytes(sb.ToString());
    }

    /// <summary>
    /// Parses the body of a SOAP response to <paramref name="action"/>: the output arguments by name, or a
    /// <see cref="UpnpException"/> for a fault. Any other shape is a <see cref="NatException"/> (MalformedResponse).
    /// </summary>
    public static IReadOnlyDictionary<string, string> ParseResponse(string action, byte[] body) =>
        SafeXml.Guard($"SOAP {action} response", () => ParseCore(action, body));

    private static Dictionary<string, string> ParseCore(string action, byte[] body)
    {
        using var reader = SafeXml.Create(body, $"SOAP {action} response");
        // Find <Envelope><Body><first child>.
        var inBody = false;
        var sawEnvelope = false;
        while (SafeXml.Read(reader))
        {
            if (reader.NodeType != XmlNodeType.Element) continue;
            if (!sawEnvelope)
            {
                if (reader.LocalName != "Envelope") throw Malformed(action, $"root element <{reader.LocalName}> is not a SOAP Envelope");
                sawEnvelope = true;
                continue;
            }
            if (!inBody)
            {
                if (reader.LocalName == "Body" && reader.Depth == 1) inBody = true;
                else if (reader.Depth == 1) reader.Skip(); // a SOAP Header: nothing we need
                continue;
            }
            if (reader.LocalName == "Fault") throw ParseFault(action, reader);
            if (reader.LocalName != action + "Response")
                throw Malformed(action, $"unexpected element <{reader.LocalName}> in SOAP Body");
            return ReadArguments(action, reader);
        }
        throw Malformed(action, "no response element in the SOAP Body");
    }

    private static Dictionary<string, string> ReadArguments(string action, XmlReader reader)
    {
        var args = new Dictionary<string, string>(StringComparer.Ordinal);
        if (reader.IsEmptyElement) return args;
        var depth = reader.Depth;
        SafeXml.Read(reader);
        while (!reader.EOF && !(reader.NodeType == XmlNodeType.EndElement && reader.Depth == depth))
        {
            if (reader.NodeType == XmlNodeType.Element && reader.Depth == depth + 1)
            {
                if (args.Count >= MaxArguments) throw Malformed(action, "too many output arguments");
                var name = reader.LocalName;
                args[name] = SafeXml.ReadLeaf(reader);
                SafeXml.CheckDepth(reader);
                continue;
            }
            SafeXml.Read(reader);
        }
        return args;
    }

    private static NatException ParseFault(string action, XmlReader reader)
    {
        string? code = null, description = null, faultString = null;
        var depth = reader.Depth;
        if (!reader.IsEmptyElement)
        {
            SafeXml.Read(reader);
            while (!reader.EOF && !(reader.NodeType == XmlNodeType.EndElement && reader.Depth == depth))
            {
                if (reader.NodeType == XmlNodeType.Element)
                {
                    switch (reader.LocalName)
                    {
                        case "errorCode": code = SafeXml.ReadLeaf(reader); continue;
                        case "errorDescription": description = SafeXml.ReadLeaf(reader); continue;
                        case "faultstring": faultString = SafeXml.ReadLeaf(reader); continue;
                    }
                }
                SafeXml.Read(reader);
            }
        }
        if (code is null || !int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            return Malformed(action, $"SOAP fault without a UPnP errorCode ({faultString ?? "no faultstring"})");
        return new UpnpException(action, n, MiniHttp.Truncate(description ?? faultString ?? ""));
    }

    private static NatException Malformed(string action, string what) => new(NatError.MalformedResponse, $"SOAP {action}: {what}");
}
