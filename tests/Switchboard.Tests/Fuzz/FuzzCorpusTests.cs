using Switchboard.Fuzz;
using Switchboard.Tests.Support;

namespace Switchboard.Tests.Fuzz;

/// <summary>
/// Replays the coverage-guided fuzzing corpora (fuzz/corpora/&lt;target&gt;) and every crash or hang repro
/// (fuzz/crashes/&lt;target&gt;) through the very code AFL++ ran (<see cref="FuzzTargets.Run"/>): each input must end
/// accepted or with one of its decoder's typed errors, within its allocation budget. No fuzzing happens here;
/// fuzz/run.sh does that. <c>SWITCHBOARD_FUZZ=&lt;folder&gt;</c> points at another copy of fuzz/.
/// </summary>
public sealed class FuzzCorpusTests
{
    private static readonly Lazy<string> s_root = new(() => TestData.Folder("fuzz", "SWITCHBOARD_FUZZ", "README.md"));

    public static TheoryData<string> Targets => new(FuzzTargetNames.All);

    private static string[] Files(string kind, string target)
    {
        var folder = Path.Combine(s_root.Value, kind, target);
        return Directory.Exists(folder) ? Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToArray() : [];
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Every_corpus_file_and_crash_repro_ends_accepted_or_with_a_typed_error(string name)
    {
        var target = FuzzTargets.Get(name);
        var corpus = Files("corpora", name);
        Assert.NotEmpty(corpus);
        var failures = new List<string>();
        var outcomes = new Dictionary<FuzzOutcome, int>();
        foreach (var file in corpus.Concat(Files("crashes", name)))
        {
            try
            {
                var outcome = FuzzTargets.Run(target, File.ReadAllBytes(file));
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            }
            catch (Exception ex)
            {
                failures.Add($"{Path.GetFileName(file)}: {ex.GetType().Name}: {ex.Message}");
            }
        }
        Assert.True(failures.Count == 0, $"{failures.Count} inputs of {name} crashed:\n{string.Join("\n", failures.Take(20))}");
        // A corpus that only ever fails would fuzz nothing beyond the first check: every target has inputs that pass.
        Assert.True(outcomes.GetValueOrDefault(FuzzOutcome.Accepted) > 0, $"no input of {name} is accepted");
    }

    [Fact]
    public void The_names_the_driver_checks_are_the_targets()
    {
        Assert.Equal(FuzzTargetNames.All, FuzzTargets.All.Select(t => t.Name));
    }

    [Fact]
    public void Every_seed_built_from_the_vectors_is_in_the_corpus()
    {
        var testData = Path.GetDirectoryName(Vectors.Directory)!;
        var missing = SeedCorpus.Build(testData)
            .Select(s => (s.Target, Name: "seed-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(s.Seed))))
            .Where(s => !File.Exists(Path.Combine(s_root.Value, "corpora", s.Target, s.Name)))
            .ToList();
        Assert.True(missing.Count == 0,
            "seeds missing from fuzz/corpora (regenerate: dotnet fuzz/Switchboard.Fuzz/bin/Release/net10.0/Switchboard.Fuzz.dll seed "
            + $"tests/Switchboard.Tests/TestData fuzz/corpora): {string.Join(", ", missing.Select(m => m.Target + "/" + m.Name))}");
    }

    [Fact]
    public void An_unexpected_exception_is_a_crash_and_a_typed_error_is_not()
    {
        var typed = new FuzzTarget("t", "", _ => throw new ProtocolViolationException(ProtocolViolation.MalformedMessage, "x"),
            ex => ex is ProtocolViolationException, _ => long.MaxValue);
        Assert.Equal(FuzzOutcome.Rejected, FuzzTargets.Run(typed, []));
        var untyped = typed with { Body = _ => throw new IndexOutOfRangeException() };
        Assert.Throws<IndexOutOfRangeException>(() => FuzzTargets.Run(untyped, []));
        var greedy = typed with { Body = _ => GC.KeepAlive(new byte[1 << 20]), AllocationBudget = _ => 1024 };
        Assert.Throws<FuzzInvariantException>(() => FuzzTargets.Run(greedy, []));
    }
}
