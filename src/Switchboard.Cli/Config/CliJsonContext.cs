using System.Text.Json;
using System.Text.Json.Serialization;
using Switchboard.Cli.Commands;

namespace Switchboard.Cli.Config;

/// <summary>
/// Source-generated JSON for the config file and the commands' <c>--json</c> output: snake_case names (as CometBFT's
/// config), indented, Go-style duration strings. Reading is strict — an unknown property or a null where a value is
/// required is an error — but <c>//</c> comments and trailing commas are tolerated in a hand-edited file.
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
[JsonSerializable(typeof(BenchReport))]
internal sealed partial class CliJsonContext : JsonSerializerContext;
