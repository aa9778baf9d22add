using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Switchboard.Pex;
using Switchboard.Tests.Support;
using Xunit.Abstractions;
using static Switchboard.Tests.Pex.PexTestKit;

namespace Switchboard.Tests.Pex;

/// <summary>
/// addrbook.json survives a kill at any moment of a save, leaves no temporary files behind, and every expected
/// file problem is one log line without a stack trace.
/// </summary>
public sealed class AddrBookDurabilityTests(ITestOutputHelper output) : IDisposable
{
    private readonly ManualTimeProvider _time = new();
    private readonly Random _random = new(11);
    private readonly string _dir = TempDir();
    private readonly CapturingLogger _log = new();

    public void Dispose()
    {
        try { Directory.Delete(_dir, recursive: true); } catch (IOException) { }
    }

    private string BookPath => Path.Combine(_dir, "addrbook.json");

    private AddrBook FileBook(Func<AddrBookOptions, AddrBookOptions>? configure = null) =>
        new((configure ?? (o => o))(new AddrBookOptions { FilePath = BookPath, TimeProvider = _time, Random = new Random(1) }), _log);

    private string[] FilesBeside() => [.. Directory.GetFiles(_dir).Select(f => Path.GetFileName(f)).Order(StringComparer.Ordinal)];

    [Fact]
    public async Task FiftyKillsDuringSavesNeverLeaveACorruptOrMissingBookNorATemporaryFile()
    {
        const int entries = 400, kills = 50;
        var seeded = new AddrBook(new AddrBookOptions { FilePath = BookPath });
        seeded.Start();
        Fill(seeded, _random, entries);
        await seeded.DisposeAsync();
        var tmp = BookPath + ".tmp";
        var sw = Stopwatch.StartNew();
        int killedWithTemp = 0, savesBeforeKill = 0;
        for (var i = 0; i < kills; i++)
        {
            // The child loads the book and saves it in a loop, changing one entry each time and printing "saved N"
            // after each save; it is killed (SIGKILL) as soon as the line of a randomly chosen save arrives, so the
            // kill lands wherever the next save has got to by then.
            var killAfter = _random.Next(1, 4);
            using var child = Support.Program.StartHelper(AddrBookSaveLoop.Name, BookPath);
            try
            {
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                string? line;
                while ((line = await child.StandardOutput.ReadLineAsync(deadline.Token)) != $"saved {killAfter}")
                {
                    if (line is null)
                    {
                        await child.WaitForExitAsync(deadline.Token);
                        Assert.Fail($"kill {i}: the save loop ended (exit {child.ExitCode}) before save {killAfter}");
                    }
                }
                child.Kill();
            }
            finally
            {
                if (!child.HasExited) child.Kill();
                await child.WaitForExitAsync();
            }
            savesBeforeKill += killAfter;
            if (File.Exists(tmp)) killedWithTemp++;

            var book = new AddrBook(new AddrBookOptions { FilePath = BookPath }, _log);
            var report = book.Start();
            Assert.True(report is { Status: AddrBookLoadStatus.Loaded, Loaded: entries, Skipped: 0 }, $"kill {i}: {report}");
            Assert.Equal(["addrbook.json"], FilesBeside());
            await book.DisposeAsync(); // saves once more: a normal save, which the next child loads
        }
        output.WriteLine($"{kills} kills in {sw.Elapsed.TotalSeconds:0.0} s; {killedWithTemp} of them mid-write (a temporary file was left), {savesBeforeKill} completed saves");
        // The kills must really have hit saves in progress, or this test would prove nothing about them.
        Assert.True(killedWithTemp > 0, "no kill landed while a temporary file existed");
        Assert.Contains(_log.Entries, e => e.Message.Contains("removed 1 temporary file(s) left by an interrupted save"));
        Assert.All(_log.Entries, e => Assert.Null(e.Exception));
    }

    public static TheoryData<string, byte[]> CorruptFiles()
    {
        var random = new byte[5000];
        new Random(5).NextBytes(random);
        var data = new TheoryData<string, byte[]>
        {
            { "empty", [] },
            { "null", "null"u8.ToArray() },
            { "array", "[]"u8.ToArray() },
            { "string", "\"addrbook\""u8.ToArray() },
            { "addrs not an array", "{\"addrs\": 5}"u8.ToArray() },
            { "key not a string", "{\"key\": 12, \"addrs\": []}"u8.ToArray() },
            { "trailing text", "{\"addrs\": [] } trailing"u8.ToArray() },
            { "control bytes", Encoding.UTF8.GetBytes("\u0000\u0001\u00ff garbage") },
            { "random bytes", random },
            { "too deep", Encoding.ASCII.GetBytes("{\"addrs\":" + new string('[', 10_000) + new string(']', 10_000) + "}") },
            { "cut short", "{\"key\": \"00112233\", \"addrs\": [{\"addr\": {\"id\": \"56475a"u8.ToArray() },
        };
        return data;
    }

    [Theory]
    [MemberData(nameof(CorruptFiles))]
    public void ACorruptBookIsOneLogLineWithoutAStackTrace(string what, byte[] content)
    {
        File.WriteAllBytes(BookPath, content);
        var report = FileBook().Start();
        Assert.Equal(AddrBookLoadStatus.Corrupt, report.Status);
        var line = Assert.Single(_log.Entries);
        output.WriteLine($"{what}: {line.Rendered}");
        Assert.Equal(LogLevel.Error, line.Level);
        Assert.Null(line.Exception);
        Assert.DoesNotContain('\n', line.Rendered);
        // It says what was wrong, which file, and where the file went.
        Assert.Contains(report.Error!.Message, line.Message);
        Assert.Contains(BookPath, line.Message);
        Assert.Contains(report.MovedTo!, line.Message);
        Assert.Equal(content, File.ReadAllBytes(report.MovedTo!));
    }

    [Fact]
    public void AFileAboveTheSizeLimitIsOneLineToo()
    {
        File.WriteAllText(BookPath, "{\"addrs\": []}" + new string(' ', 600));
        var report = FileBook(o => o with { MaxFileBytes = 512 }).Start();
        var line = Assert.Single(_log.Entries);
        Assert.Null(line.Exception);
        Assert.Contains("above the limit of 512", line.Message);
        Assert.Contains(report.MovedTo!, line.Message);
    }

    [Fact]
    public void ACorruptBookThatCannotBeMovedAsideIsOneLineThatSaysSo()
    {
        File.WriteAllText(BookPath, "not json");
        // The name it would be moved to (the clock is fixed) is taken by a folder, so the rename fails.
        var blocker = BookPath + ".corrupt-20260101T000000000Z";
        Directory.CreateDirectory(blocker);
        var report = FileBook().Start();
        Assert.Equal(AddrBookLoadStatus.Corrupt, report.Status);
        Assert.Null(report.MovedTo);
        var line = Assert.Single(_log.Entries);
        output.WriteLine(line.Rendered);
        Assert.Null(line.Exception);
        Assert.Contains("could not be moved aside", line.Message);
        Assert.Contains(blocker, line.Message);
        Assert.Contains(report.Error!.Message, line.Message);
    }

    [Fact]
    public async Task AFailedSaveIsOneWarningLineWithoutAStackTrace()
    {
        var book = FileBook();
        book.Start();
        Fill(book, _random, 3);
        // A folder where the temporary file must go: the save cannot create it.
        Directory.CreateDirectory(BookPath + ".tmp");
        await book.StopAsync();
        var line = Assert.Single(_log.Entries);
        output.WriteLine(line.Rendered);
        Assert.Equal(LogLevel.Warning, line.Level);
        Assert.Null(line.Exception);
        Assert.Contains("could not be saved", line.Message);
        Assert.Contains(BookPath, line.Message);
        Assert.False(File.Exists(BookPath));
    }

    [Fact]
    public async Task LoadRemovesTheTemporaryFilesOfInterruptedSaves_OursOnly()
    {
        var source = FileBook();
        source.Start();
        Fill(source, _random, 5);
        await source.StopAsync();
        File.WriteAllText(BookPath + ".tmp", "{\"key\": \"half a sa");            // this version's temporary name
        File.WriteAllText(BookPath + ".tmp-0123456789ab", "{");                  // the random names earlier versions used
        File.WriteAllText(BookPath + ".tmp-notours", "someone else's");          // not a name we ever wrote
        File.WriteAllText(BookPath + ".tmp-0123456789AB", "upper case: not ours");

        var report = FileBook().Start();
        Assert.Equal(new AddrBookLoadReport(AddrBookLoadStatus.Loaded, 5, 0, 0), report);
        Assert.Equal(["addrbook.json", "addrbook.json.tmp-0123456789AB", "addrbook.json.tmp-notours"], FilesBeside());
        Assert.Contains(_log.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("removed 2 temporary file(s)"));
    }

    [Fact]
    public async Task ASaveReplacesAStaleTemporaryFileAndLeavesNone()
    {
        var book = FileBook();
        book.Start();
        File.WriteAllText(BookPath + ".tmp", new string('x', 100_000)); // longer than the book: must not survive in it
        Fill(book, _random, 4);
        book.Save();
        Assert.Equal(["addrbook.json"], FilesBeside());
        await book.StopAsync();
        Assert.Equal(4, FileBook().Start().Loaded);
    }
}

/// <summary>The child process of the kill test: loads the book, then saves it forever, one change per save.</summary>
internal static class AddrBookSaveLoop
{
    public const string Name = "addrbook-save-loop";

    public static int Run(string path)
    {
        var book = new AddrBook(new AddrBookOptions { FilePath = path, SaveInterval = TimeSpan.FromDays(1) });
        book.Start();
        var entries = book.GetEntries();
        if (entries.Count == 0)
        {
            Console.Error.WriteLine($"{path} has no entries");
            return 1;
        }
        for (var i = 1; ; i++)
        {
            book.MarkAttempt(entries[i % entries.Count].Address);
            book.Save();
            Console.WriteLine($"saved {i}");
        }
    }
}
