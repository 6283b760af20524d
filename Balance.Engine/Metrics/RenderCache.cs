using System.Text;
using Balance.Control;

namespace Balance.Metrics;

/// <summary>
/// The last rendering of each page, shared by the endpoint's workers: the segment is read and a
/// page rendered at most once per interval, whatever the number of scrapers.
/// </summary>
internal sealed class RenderCache(Func<BalanceSnapshot> snapshot, TimeSpan interval)
{
    private readonly Lock gate = new();
    private Page? metrics;
    private Page? status;

    /// <summary>A rendered page and when it was rendered.</summary>
    public sealed record Page(string ContentType, byte[] Body, long RenderedAt);

    public Page Metrics() => Get(ref metrics, s => new Page(PrometheusText.ContentType, Encoding.UTF8.GetBytes(PrometheusText.Render([s])), Environment.TickCount64));

    public Page Status() => Get(ref status, s => new Page(StatusPage.ContentType, Encoding.UTF8.GetBytes(StatusPage.Render(s)), Environment.TickCount64));

    private Page Get(ref Page? slot, Func<BalanceSnapshot, Page> render)
    {
        lock (gate)
        {
            if (slot is { } p && Environment.TickCount64 - p.RenderedAt < interval.TotalMilliseconds)
            {
                return p;
            }

            slot = render(snapshot());
            return slot;
        }
    }
}
