using System.Diagnostics;
using System.IO.Compression;
using System.Reflection.Metadata;
using System.Xml.Linq;
using Switchboard.Tests.Support;
using Xunit.Abstractions;

namespace Switchboard.Tests.Packaging;

/// <summary>
/// A fact that packs: on by default, since it packs what the test run already built (<c>dotnet pack --no-build</c>,
/// about 7 s for the three packages on 2 cores); SWITCHBOARD_PACK_TESTS=0 skips it (e.g. a test run from a copy of
/// the test output without the sources). <c>dotnet pack</c> fails on its own when package validation does.
/// </summary>
public sealed class PackFactAttribute : FactAttribute
{
    public PackFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("SWITCHBOARD_PACK_TESTS") == "0")
            Skip = "SWITCHBOARD_PACK_TESTS=0: packing skipped";
    }
}

/// <summary>Packs the library, Switchboard.Hosting and the CLI tool and reads back what a package page and a
/// debugger see: licence, readme, repository and commit, tags, description, a .snupkg with the PDBs.</summary>
public sealed class PackagingTests(ITestOutputHelper output)
{
    private static readonly Guid SourceLinkKind = new("CC110556-A091-4D38-9FEC-25AB9A351A6A");

    [PackFact]
    public async Task Pack_ProducesPackagesWithTheirMetadataAndSymbols()
    {
        var outDir = Directory.CreateTempSubdirectory("sb-pack-");
        try
        {
            foreach (var project in new[] { "src/Switchboard", "src/Switchboard.Hosting", "src/Switchboard.Cli" })
                await PackAsync(project, outDir.FullName);

            foreach (var (id, packageType, assemblies) in new[]
            {
                ("Switchboard", "lib/net10.0/", new[] { "Switchboard" }),
                ("Switchboard.Hosting", "lib/net10.0/", ["Switchboard.Hosting"]),
                ("Switchboard.Cli", "tools/net10.0/any/", ["Switchboard.Cli", "Switchboard"]),
            })
            {
                var nupkg = Directory.GetFiles(outDir.FullName, id + ".*.nupkg").Single(f => IsVersionOf(f, id, ".nupkg"));
                using var package = ZipFile.OpenRead(nupkg);
                var nuspec = XDocument.Load(package.GetEntry(id + ".nuspec")!.Open());
                var ns = nuspec.Root!.Name.Namespace;
                var meta = nuspec.Root.Element(ns + "metadata")!;
                string? Field(string name) => meta.Element(ns + name)?.Value;

                Assert.Equal(id, Field("id"));
                Assert.Equal("expression", meta.Element(ns + "license")?.Attribute("type")?.Value);
                Assert.Equal("MIT", Field("license"));
                // The licence text travels with the package and is the repository's LICENSE, whose copyright line the
                // package's copyright repeats.
                var licence = new StreamReader(package.GetEntry("LICENSE")!.Open()).ReadToEnd();
                Assert.Equal(File.ReadAllText(Path.Combine(RepoPaths.Root, "LICENSE")), licence);
                Assert.StartsWith("MIT License", licence, StringComparison.Ordinal);
                Assert.Equal("Copyright (c) The Switchboard authors", Field("copyright"));
                Assert.Contains(Field("copyright")!, licence, StringComparison.Ordinal);
                Assert.Equal("README.md", Field("readme"));
                Assert.Contains("## Using the library", new StreamReader(package.GetEntry("README.md")!.Open()).ReadToEnd(), StringComparison.Ordinal);
                Assert.False(string.IsNullOrWhiteSpace(Field("description")), $"{id}: description");
                Assert.StartsWith("https://", Field("projectUrl"), StringComparison.Ordinal);
                var tags = Field("tags")!.Split(' ');
                Assert.Contains("cometbft", tags);
                Assert.Contains("p2p", tags);
                var repository = meta.Element(ns + "repository")!;
                Assert.Equal("git", repository.Attribute("type")?.Value);
                Assert.StartsWith("https://", repository.Attribute("url")?.Value, StringComparison.Ordinal);
                // Source Link recorded the commit the package was built from.
                Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
                if (id == "Switchboard.Cli")
                    Assert.Equal("DotnetTool", meta.Element(ns + "packageTypes")?.Element(ns + "packageType")?.Attribute("name")?.Value);

                var snupkg = Path.ChangeExtension(nupkg, ".snupkg");
                Assert.True(File.Exists(snupkg), $"{snupkg} (symbols)");
                using var symbols = ZipFile.OpenRead(snupkg);
                foreach (var assembly in assemblies)
                {
                    Assert.NotNull(package.GetEntry(packageType + assembly + ".dll"));
                    var pdb = symbols.GetEntry(packageType + assembly + ".pdb");
                    Assert.True(pdb is not null, $"{id}: {assembly}.pdb in the .snupkg");
                    using var pdbStream = new MemoryStream();
                    await using (var s = pdb.Open()) await s.CopyToAsync(pdbStream);
                    pdbStream.Position = 0;
                    using var provider = MetadataReaderProvider.FromPortablePdbStream(pdbStream);
                    var reader = provider.GetMetadataReader();
                    Assert.True(reader.Documents.Count > 0, $"{assembly}.pdb is a portable PDB with documents");
                    var hasSourceLink = reader.CustomDebugInformation.Any(h => reader.GetGuid(reader.GetCustomDebugInformation(h).Kind) == SourceLinkKind);
                    output.WriteLine($"{id}: {assembly}.pdb, {reader.Documents.Count} documents, Source Link map: {hasSourceLink}");
                    // The map needs a git remote on a known forge; a clone without one (like a lone test clone) has none.
                    if (HasForgeRemote()) Assert.True(hasSourceLink, $"{assembly}.pdb has a Source Link map");
                }
            }
        }
        finally
        {
            outDir.Delete(recursive: true);
        }
    }

    private static bool IsVersionOf(string file, string id, string extension)
    {
        var name = Path.GetFileName(file);
        return name.StartsWith(id + ".", StringComparison.Ordinal) && char.IsDigit(name[id.Length + 1]) && name.EndsWith(extension, StringComparison.Ordinal);
    }

    private static bool HasForgeRemote()
    {
        var (exit, text) = Run("git", ["-C", RepoPaths.Root, "remote", "-v"]);
        return exit == 0 && (text.Contains("github.com", StringComparison.Ordinal) || text.Contains("gitlab", StringComparison.Ordinal));
    }

    private async Task PackAsync(string project, string outDir)
    {
        // --no-build: the test run built these projects in this configuration already.
        var (exit, text) = await Task.Run(() => Run(RepoPaths.Dotnet,
            ["pack", Path.Combine(RepoPaths.Root, project), "-c", RepoPaths.Configuration, "--no-build", "-o", outDir, "-nologo"]));
        output.WriteLine(text);
        Assert.True(exit == 0, $"dotnet pack {project}: exit {exit}\n{text}");
    }

    private static (int Exit, string Output) Run(string file, string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEnd();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, stdout + stderr.Result + "\n(killed after 5 minutes)");
        }
        return (process.ExitCode, stdout + stderr.Result);
    }
}
