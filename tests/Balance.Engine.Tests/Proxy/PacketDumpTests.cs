using System.Text;
using Balance.Proxy;
using Balance.Transport;
using Xunit;

namespace Balance.Tests.Proxy;

public class PacketDumpTests
{
    /// <summary>The 133-byte request of the reference dump (§7).</summary>
    public static byte[] ReferenceRequest()
    {
        var bytes = new List<byte>();
        bytes.AddRange(Encoding.ASCII.GetBytes("GET /a\\b HTTP/1.0\r\n"));
        bytes.AddRange([0x00, 0x01, 0xFF, 0xE4]);
        bytes.AddRange(Encoding.ASCII.GetBytes("tab\there\n"));
        bytes.AddRange(Enumerable.Repeat((byte)'x', 100));
        bytes.Add((byte)'\n');
        return bytes.ToArray();
    }

    public static readonly string ReferenceRequestDump =
        "-> 133\n" +
        "GET /a\\\\b HTTP/1.0\\0D\\0A\n" +
        "\\00\\01\\FF\\E4tab\\09here\\0A\n" +
        new string('x', 81) + "\n" +
        new string('x', 19) + "\\0A\n" +
        "\n";

    [Fact]
    public void Reproduces_the_reference_dump_of_a_request()
    {
        Assert.Equal(133, ReferenceRequest().Length);
        Assert.Equal(ReferenceRequestDump, Dump(true, ReferenceRequest()));
    }

    [Fact]
    public void A_greeting_from_the_back_end_gets_the_backward_header_and_an_empty_line()
    {
        Assert.Equal("-< 2\nA\\0A\n\n", Dump(false, "A\n"u8.ToArray()));
    }

    [Fact]
    public void End_of_stream_is_a_zero_header_and_one_empty_line()
    {
        Assert.Equal("-> 0\n\n", Dump(true, []));
    }

    [Fact]
    public void Escapes_count_three_columns_towards_the_line_break()
    {
        // 27 escapes = 81 columns: the break comes right after the 27th.
        var data = Enumerable.Repeat((byte)0x01, 28).ToArray();
        var expected = "-> 28\n" + string.Concat(Enumerable.Repeat("\\01", 27)) + "\n\\01\n";
        Assert.Equal(expected, Dump(true, data));
    }

    private static string Dump(bool clientToBackend, byte[] data)
    {
        using var writer = new StringWriter();
        PacketDump.Write(writer, clientToBackend, data);
        return writer.ToString();
    }
}
