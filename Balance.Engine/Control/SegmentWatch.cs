namespace Balance.Control;

/// <summary>
/// The engine's periodic look at its own segment for damage others did: an address a dead writer
/// left half-written (<see cref="TornAddressWatch"/>), and a segment name someone truncated or
/// overwrote (the sealed memory itself cannot change; the locator record is put back). Each is
/// reported once per episode through the engine's report (event ring and notices).
/// </summary>
internal sealed class SegmentWatch
{
    private readonly ControlSegment segment;
    private readonly TornAddressWatch tornAddresses;
    private readonly Action<int, int, string> report;
    private bool locatorFailing;

    public SegmentWatch(ControlSegment segment, Action<int, int, string> report)
    {
        ArgumentNullException.ThrowIfNull(segment);
        ArgumentNullException.ThrowIfNull(report);
        this.segment = segment;
        this.report = report;
        tornAddresses = new TornAddressWatch(segment);
    }

    /// <summary>Called on the engine's tick.</summary>
    public void Check()
    {
        tornAddresses.Check(report);
        CheckLocator();
    }

    private void CheckLocator()
    {
        try
        {
            if (segment.RepairLocator())
            {
                report(-1, -1, $"{segment.Name.Path} was truncated or overwritten; restored");
            }

            locatorFailing = false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!locatorFailing)
            {
                report(-1, -1, $"cannot restore {segment.Name.Path}: {e.Message}");
            }

            locatorFailing = true;
        }
    }
}
