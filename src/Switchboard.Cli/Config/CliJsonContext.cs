using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Switchboard.Cli.Commands;

namespace Switchboard.Cli.Config;

/// <summary>
/// Source-generated JSON for the commands' <c>--json</c> output (and the status API's client): snake_case names
/// everywhere (as CometBFT's JSON), indented, Go-style duration strings. Reading is strict: an unknown property or a
/// null where a value is required is an error.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    WriteIndented = true,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    RespectNullableAnnotations = true,
    ReadCommentHandling = JsonCommentHandling.Skip,
    AllowTrailingCommas = true,
    Converters = [typeof(DurationJsonConverter)])]
[JsonSerializable(typeof(ProbeReport))]
[JsonSerializable(typeof(SendReport))]
[JsonSerializable(typeof(List<CrawlNodeReport>))]
[JsonSerializable(typeof(TestnetReport))]
[JsonSerializable(typeof(Switchboard.Cli.Hosting.Netns.ChaosReport))]
[JsonSerializable(typeof(BenchReport))]
[JsonSerializable(typeof(Switchboard.Nat.NatProbeReport))]
[JsonSerializable(typeof(VersionReport))]
internal sealed partial class CliJsonContext : JsonSerializerContext
{
    /// <summary>
    /// The context every command writes with: the generated options plus an encoder that leaves '&gt;', '&lt;', '&amp;',
    /// '+' and non-ASCII text alone (the default escapes them as \u003E etc., for HTML pages this output never enters).
    /// </summary>
    /// <remarks>Made on first use: the generated <c>Default</c> is initialised in another part of this class, in no fixed order.</remarks>
    public static CliJsonContext Output => s_output ??= new(new JsonSerializerOptions(Default.Options) { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    private static CliJsonContext? s_output;
}
