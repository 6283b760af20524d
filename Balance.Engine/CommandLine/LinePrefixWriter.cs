using System.Text;

namespace Balance.CommandLine;

/// <summary>
/// Starts every line written through it with a prefix, the way pdsh marks each node's output
/// (<c>8080: channel 1 draining</c>), so the replies of several instances stay apart and sort.
/// </summary>
internal sealed class LinePrefixWriter(TextWriter inner, string prefix) : TextWriter
{
    private bool atLineStart = true;

    public override Encoding Encoding => inner.Encoding;

    public override void Write(char value)
    {
        if (atLineStart && value != '\r')
        {
            inner.Write(prefix);
        }

        inner.Write(value);
        atLineStart = value == '\n';
    }

    public override void Flush() => inner.Flush();
}
