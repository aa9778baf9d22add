using System.Text;
using System.Xml;

namespace Switchboard.Nat;

/// <summary>
/// XmlReader settings for gateway documents: no DTD (so no entity expansion, no billion laughs, no external entity),
/// no resolver, a character limit and a depth limit. Every failure becomes a <see cref="NatException"/>.
/// </summary>
internal static class SafeXml
{
    /// <summary>64 KiB: miniupnpd's description is 3 KiB; real routers stay well under 20 KiB.</summary>
    public const int MaxDocumentBytes = 64 * 1024;

    /// <summary>32: an IGD description nests root/device/deviceList/device/deviceList/device/serviceList/service/x = 9.</summary>
    public const int MaxDepth = 32;

    public static XmlReader Create(byte[] document, string what)
    {
        if (document.Length > MaxDocumentBytes)
            throw new NatException(NatError.ResponseTooLarge, $"{what} of {document.Length} bytes exceeds {MaxDocumentBytes}");
        var settings = new XmlReaderSettings
        {
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            MaxCharactersInDocument = MaxDocumentBytes,
            MaxCharactersFromEntities = 0,
            IgnoreComments = true,
            IgnoreProcessingInstructions = true,
            IgnoreWhitespace = true,
            CloseInput = true,
        };
        return XmlReader.Create(new MemoryStream(document, writable: false), settings);
    }

    /// <summary>Advances the reader and enforces the depth limit.</summary>
    public static bool Read(XmlReader reader)
    {
        if (!reader.Read()) return false;
        CheckDepth(reader);
        return true;
    }

    public static void CheckDepth(XmlReader reader)
    {
        if (reader.Depth > MaxDepth)
            throw new NatException(NatError.MalformedResponse, $"XML nested deeper than {MaxDepth} levels");
    }

    /// <summary>Text content of the current leaf element (bounded by the document limit); moves past its end tag.</summary>
    public static string ReadLeaf(XmlReader reader)
    {
        if (reader.IsEmptyElement)
        {
            reader.Read();
            return "";
        }
        return reader.ReadElementContentAsString().Trim();
    }

    /// <summary>Runs a parse and turns any XML error into a typed <see cref="NatException"/>.</summary>
    public static T Guard<T>(string what, Func<T> parse)
    {
        try
        {
            return parse();
        }
        catch (XmlException ex)
        {
            throw new NatException(NatError.MalformedResponse, $"{what}: invalid or unsafe XML: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new NatException(NatError.MalformedResponse, $"{what}: invalid XML: {ex.Message}", ex);
        }
        catch (DecoderFallbackException ex)
        {
            throw new NatException(NatError.MalformedResponse, $"{what}: bad text encoding", ex);
        }
        catch (ArgumentOutOfRangeException ex)
        {
            // System.Xml's reader (XmlTextReaderImpl.SwitchEncoding → ReadData) throws this for some documents whose
            // XML declaration switches the encoding (a negative Buffer.BlockCopy count); found by fuzz/igd-xml.
            throw new NatException(NatError.MalformedResponse, $"{what}: invalid XML (the reader failed: {ex.Message})", ex);
        }
    }
}
