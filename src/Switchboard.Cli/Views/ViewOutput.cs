using Spectre.Console;
using Spectre.Console.Rendering;

namespace Switchboard.Cli.Views;

/// <summary>
/// Where a view draws: an interactive terminal (Spectre.Console with ANSI, tables fitted to the terminal's width,
/// live redraws) or plain text for a file or a pipe (no escape codes, no width limit, so a row is always one line,
/// and no trailing blanks).
/// </summary>
internal sealed class ViewOutput
{
    /// <summary>
    /// The width plain text is laid out in: wide enough that no table row or legend line ever wraps, so every line
    /// of a redirected table is one row for grep and awk.
    /// </summary>
    public const int PlainWidth = 4096;

    private readonly TextWriter? _plain;
    private readonly StringWriter? _buffer;

    private ViewOutput(IAnsiConsole console, TextWriter? plain, StringWriter? buffer)
    {
        Console = console;
        _plain = plain;
        _buffer = buffer;
    }

    /// <summary>The console renderables are measured against (for plain text, one writing into a buffer).</summary>
    public IAnsiConsole Console { get; }

    /// <summary>True for redirected output: no escape codes, no live redraws, no borders.</summary>
    public bool IsPlain => _plain is not null;

    /// <summary>The columns a line may take.</summary>
    public int Width => Console.Profile.Width;

    /// <summary>A terminal view on <paramref name="console"/> (tests pass Spectre.Console.Testing's TestConsole).</summary>
    public static ViewOutput Terminal(IAnsiConsole console) => new(console, null, null);

    /// <summary>Plain lines on <paramref name="writer"/>.</summary>
    public static ViewOutput Plain(TextWriter writer)
    {
        var buffer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(buffer),
        });
        console.Profile.Width = PlainWidth;
        return new ViewOutput(console, writer, buffer);
    }

    /// <summary>
    /// A terminal view on <paramref name="writer"/> when it is one (<see cref="CliEnvironment.IsTerminal"/>) that
    /// understands ANSI cursor movements (Spectre.Console's detection, from TERM and the platform), else plain lines:
    /// a live redraw on a terminal without them would print every drawing below the last. Colours follow the
    /// terminal and NO_COLOR; the width is the terminal's, read at every draw.
    /// </summary>
    public static ViewOutput For(TextWriter writer, bool isTerminal)
    {
        if (!isTerminal) return Plain(writer);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.Detect,
            ColorSystem = ColorSystemSupport.Detect,
            Interactive = InteractionSupport.Yes,
            Out = new AnsiConsoleOutput(writer),
        });
        return console.Profile.Capabilities.Ansi ? Terminal(console) : Plain(writer);
    }

    /// <summary>Draws <paramref name="renderable"/> once.</summary>
    public void Write(IRenderable renderable)
    {
        if (_plain is null || _buffer is null)
        {
            Console.Write(renderable);
            return;
        }
        Console.Write(renderable);
        var text = _buffer.ToString();
        _buffer.GetStringBuilder().Clear();
        var lines = text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n');
        // The last element is what follows the final newline: empty when the renderable ended its line.
        var count = lines[^1].Length == 0 ? lines.Length - 1 : lines.Length;
        for (var i = 0; i < count; i++) _plain.WriteLine(lines[i].TrimEnd());
        _plain.Flush();
    }

    /// <summary>True when <paramref name="renderable"/> fits in <see cref="Width"/> columns without wrapping.</summary>
    public bool Fits(IRenderable renderable) =>
        renderable.Measure(RenderOptions.Create(Console, Console.Profile.Capabilities), Width).Max <= Width;
}
