using SharpFuzz;
using Switchboard.Fuzz;

// Switchboard.Fuzz <target>                 AFL++ persistent mode (under afl-fuzz, with an instrumented Switchboard.dll)
// Switchboard.Fuzz replay <target> <path>…  runs files (or every file of folders) once, without AFL, and says how each ended
// Switchboard.Fuzz list                     the targets
if (args.Length == 1 && args[0] == "list")
{
    foreach (var t in FuzzTargets.All) Console.WriteLine($"{t.Name,-16} {t.Description}");
    return 0;
}
if (args.Length == 3 && args[0] == "seed")
{
    // seed <TestData folder> <corpora folder>: writes each seed as <corpora>/<target>/seed-<sha1>.
    var count = 0;
    foreach (var (name, seed) in SeedCorpus.Build(args[1]))
    {
        var folder = Path.Combine(args[2], name);
        Directory.CreateDirectory(folder);
        File.WriteAllBytes(Path.Combine(folder, "seed-" + Convert.ToHexStringLower(System.Security.Cryptography.SHA1.HashData(seed))), seed);
        count++;
    }
    Console.WriteLine($"{count} seeds");
    return 0;
}
if (args.Length >= 3 && args[0] == "replay")
{
    var target = FuzzTargets.Get(args[1]);
    var failed = 0;
    var files = args[2..].SelectMany(p => Directory.Exists(p) ? Directory.EnumerateFiles(p, "*", SearchOption.AllDirectories) : [p]);
    foreach (var file in files.Order(StringComparer.Ordinal))
    {
        try
        {
            Console.WriteLine($"{FuzzTargets.Run(target, File.ReadAllBytes(file)),-9} {file}");
        }
#pragma warning disable CA1031 // replay reports every crash and goes on to the next file
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failed++;
            Console.WriteLine($"CRASH     {file}\n{ex}");
        }
    }
    return failed == 0 ? 0 : 1;
}
if (args.Length == 1)
{
    var name = args[0];
    if (!FuzzTargetNames.All.Contains(name))
    {
        Console.Error.WriteLine($"unknown target '{name}'; known: {string.Join(", ", FuzzTargetNames.All)}");
        return 2;
    }
    // Nothing instrumented may run before Fuzzer.Run has mapped AFL's coverage map (it would write through a null
    // map): the target, whose statics call into Switchboard, is looked up on the first input.
    FuzzTarget? target = null;
    Fuzzer.Run(stream =>
    {
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        target ??= FuzzTargets.Get(name);
        FuzzTargets.Run(target, copy.ToArray());
    });
    return 0;
}
Console.Error.WriteLine("usage: Switchboard.Fuzz <target> | replay <target> <file or folder>... | list");
return 2;
