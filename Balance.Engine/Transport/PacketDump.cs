using System.Buffers;
using System.Globalization;

namespace Balance.Transport;

/// <summary>
/// The <c>-p</c> dump of one relayed read, in the original's format: a header <c>-&gt; N</c>
/// (client to back-end) or <c>-&lt; N</c> (back-end to client), then the bytes with printable ASCII
/// as is, a backslash doubled and everything else as <c>\XX</c>; a line break after an encoded
/// newline and whenever a line has grown past 80 columns, and one more at the end. Each read is
/// written with one call, so dumps of concurrent sessions never interleave inside a block.
/// </summary>
internal static class PacketDump
{
    private const int MaxColumns = 80;
    private const string Hex = "0123456789ABCDEF";

    public static void Write(TextWriter writer, bool clientToBackend, ReadOnlySpan<byte> data)
    {
        ArgumentNullException.ThrowIfNull(writer);

        // Worst case: every byte escaped (3 chars) plus a break every 27 bytes, plus header and final break.
        var chars = ArrayPool<char>.Shared.Rent(32 + (data.Length * 4));
        try
        {
            var length = Format(chars, clientToBackend, data);
            writer.Write(chars, 0, length);
        }
        finally
        {
            ArrayPool<char>.Shared.Return(chars);
        }
    }

    /// <summary>Formats into <paramref name="target"/> (at least 32 + 4 × data length chars); returns the length.</summary>
    public static int Format(Span<char> target, bool clientToBackend, ReadOnlySpan<byte> data)
    {
        var n = 0;
        target[n++] = '-';
        target[n++] = clientToBackend ? '>' : '<';
        target[n++] = ' ';
        data.Length.TryFormat(target[n..], out var digits, default, CultureInfo.InvariantCulture);
        n += digits;
        target[n++] = '\n';
        var column = 0;
        foreach (var b in data)
        {
            if (b == '\\')
            {
                target[n++] = '\\';
                target[n++] = '\\';
                column += 2;
            }
            else if (b is >= 0x20 and < 0x7F)
            {
                target[n++] = (char)b;
                column++;
            }
            else
            {
                target[n++] = '\\';
                target[n++] = Hex[b >> 4];
                target[n++] = Hex[b & 0xF];
                column += 3;
                if (b == '\n')
                {
                    target[n++] = '\n';
                    column = 0;
                }
            }

            if (column > MaxColumns)
            {
                target[n++] = '\n';
                column = 0;
            }
        }

        target[n++] = '\n';
        return n;
    }
}
