using System.Text;

namespace Switchboard.Tests.Cli;

/// <summary>
/// Just enough of a VT100 terminal to check what a live view leaves on the screen: printable text with automatic
/// wrapping at <see cref="Width"/> (deferred, as xterm does), CR, LF (as CR LF, the tty's onlcr), cursor up/down/
/// forward/back/column, erase in line and erase below; colours and cursor visibility are ignored. The scrollback is
/// unbounded: <see cref="Lines"/> is everything that was ever on the screen, in order.
/// </summary>
internal sealed class TerminalEmulator(int width)
{
    private readonly List<StringBuilder> _lines = [new()];
    private int _row;
    private int _column;
    private bool _pendingWrap;

    public int Width { get; } = width;

    /// <summary>The screen and its scrollback, trailing blanks removed.</summary>
    public IReadOnlyList<string> Lines => [.. _lines.Select(l => l.ToString().TrimEnd())];

    public void Feed(string output)
    {
        for (var i = 0; i < output.Length; i++)
        {
            var ch = output[i];
            switch (ch)
            {
                case '\u001b':
                    i = Escape(output, i);
                    break;
                case '\r':
                    _column = 0;
                    _pendingWrap = false;
                    break;
                case '\n':
                    _column = 0;
                    _pendingWrap = false;
                    MoveTo(_row + 1);
                    break;
                default:
                    Put(ch);
                    break;
            }
        }
    }

    private void Put(char ch)
    {
        if (_pendingWrap)
        {
            _pendingWrap = false;
            _column = 0;
            MoveTo(_row + 1);
        }
        var line = _lines[_row];
        while (line.Length < _column) line.Append(' ');
        if (_column < line.Length) line[_column] = ch;
        else line.Append(ch);
        if (_column == Width - 1) _pendingWrap = true;
        else _column++;
    }

    private void MoveTo(int row)
    {
        _row = Math.Max(0, row);
        while (_lines.Count <= _row) _lines.Add(new StringBuilder());
    }

    /// <summary>Handles the sequence starting at <paramref name="at"/> (ESC); returns the index of its last character.</summary>
    private int Escape(string s, int at)
    {
        if (at + 1 >= s.Length || s[at + 1] != '[') return at + 1; // ESC x: two-character sequences are ignored
        var end = at + 2;
        while (end < s.Length && s[end] is not (>= '@' and <= '~')) end++;
        if (end >= s.Length) return end;
        var parameter = s[(at + 2)..end];
        var n = int.TryParse(parameter, out var value) ? value : 0;
        switch (s[end])
        {
            case 'A': MoveTo(_row - Math.Max(n, 1)); _pendingWrap = false; break;
            case 'B': MoveTo(_row + Math.Max(n, 1)); _pendingWrap = false; break;
            case 'C': _column = Math.Min(Width - 1, _column + Math.Max(n, 1)); _pendingWrap = false; break;
            case 'D': _column = Math.Max(0, _column - Math.Max(n, 1)); _pendingWrap = false; break;
            case 'G': _column = Math.Clamp(n - 1, 0, Width - 1); _pendingWrap = false; break;
            case 'K':
                var line = _lines[_row];
                if (n == 2) line.Clear();
                else if (n == 0 && _column < line.Length) line.Length = _column;
                break;
            case 'J':
                if (n == 0)
                {
                    if (_column < _lines[_row].Length) _lines[_row].Length = _column;
                    for (var r = _row + 1; r < _lines.Count; r++) _lines[r].Clear();
                }
                break;
            // m (colours), h/l (modes such as cursor visibility): nothing to draw.
        }
        return end;
    }
}
