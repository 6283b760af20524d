using System.Globalization;
using Balance.Control;

namespace Balance.Proxy;

/// <summary>
/// Closes a worker's sessions of a channel when a control client asks (a drain forced at its
/// timeout: <see cref="ControlClient.CloseSessions"/>). A session remembers the channel's close
/// request count when it takes its slot; on the sweeper tick after the header's count moved, every
/// session whose channel's count has moved since is aborted. One read per tick otherwise.
/// </summary>
internal sealed class SessionCloser
{
    private readonly EngineContext context;
    private readonly List<Session> due = [];
    private readonly Func<Session, long, bool> isRequested;
    private int seen;

    public SessionCloser(EngineContext context)
    {
        this.context = context;
        seen = Volatile.Read(ref context.Segment.Header.CloseRequests);
        isRequested = static (s, _) => s.Channel >= 0 && Volatile.Read(ref s.ChannelRecord.CloseRequest) != s.CloseMark;
    }

    /// <summary>Aborts the sessions whose channel was asked to close since they started.</summary>
    public void Tick()
    {
        var requests = Volatile.Read(ref context.Segment.Header.CloseRequests);
        if (requests == seen)
        {
            return;
        }

        seen = requests;
        context.Sessions.Collect(due, isRequested, 0);
        foreach (var group in due.GroupBy(s => (s.Group, s.Channel)))
        {
            var count = 0;
            foreach (var session in group)
            {
                session.Abort();
                count++;
            }

            context.Publish(EngineEventKind.SessionsClosed, group.Key.Group, group.Key.Channel, string.Create(CultureInfo.InvariantCulture, $"{count} session(s) of group {group.Key.Group} channel {group.Key.Channel} closed on request"));
        }

        due.Clear();
    }
}
