using System.Xml;
using Switchboard.Nat;

namespace Switchboard.Tests.Nat;

/// <summary>
/// Regression test for what fuzz/igd-xml found: for this 57-byte document (an XML declaration whose version is
/// followed by bytes above 0x7f) System.Xml's reader throws ArgumentOutOfRangeException (a negative
/// Buffer.BlockCopy count in XmlTextReaderImpl.ReadData), which escaped IgdDescription.Parse and Soap.ParseResponse
/// untyped. A gateway's bad XML must be a NatException (MalformedResponse).
/// </summary>
public sealed class XmlReaderFailureTests
{
    /// <summary>fuzz/crashes/igd-xml/crash-80aaf64a….</summary>
    private static readonly byte[] Document = Convert.FromHexString("3c3f786d6c2076657273696f6e3d22312e30b7b7b1b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7b7223f3e0d0a3c616a6f723e313c2f");

    [Fact]
    public void A_device_description_the_reader_fails_on_is_a_malformed_response()
    {
        var ex = Assert.Throws<NatException>(() => IgdDescription.Parse(Document, new Uri("http://192.168.1.1:5000/rootDesc.xml")));
        Assert.Equal(NatError.MalformedResponse, ex.Error);
    }

    [Fact]
    public void A_SOAP_answer_the_reader_fails_on_is_a_malformed_response()
    {
        var ex = Assert.Throws<NatException>(() => Soap.ParseResponse("GetExternalIPAddress", Document));
        Assert.Equal(NatError.MalformedResponse, ex.Error);
    }

    [Fact]
    public void The_runtime_reader_still_throws_the_untyped_error()
    {
        // When this fails, System.Xml no longer throws it; SafeXml.Guard's ArgumentOutOfRangeException arm can go.
        var ex = Record.Exception(() =>
        {
            using var reader = XmlReader.Create(new MemoryStream(Document), new XmlReaderSettings { DtdProcessing = DtdProcessing.Prohibit });
            while (reader.Read()) { }
        });
        Assert.IsType<ArgumentOutOfRangeException>(ex);
    }
}
