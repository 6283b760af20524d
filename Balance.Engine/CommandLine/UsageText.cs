namespace Balance.CommandLine;

/// <summary>Our own help text (the original's wording and banner are deliberately not reused).</summary>
internal static class UsageText
{
    public const string Hint = "Run 'balance -h' to see how to call it.";

    public static string Help => $"""
        balance {ProductInfo.Version} - TCP load balancer with failover (command line of balance {ProductInfo.CompatibleRelease})

        Start a proxy:
          balance [-b addr] [-B addr] [-t sec] [-T sec] [-adfpHM6] [--workers n]
                  [--policy word] port host1[:port1[:maxc[:weight]]] [!|%] ...
          balance [options] --layout FILE port         start from a saved layout
          balance [options] --state-file FILE port ... start from FILE if it exists; keep it current
        Replace a running proxy, dropping no connection (its layout and states carry over):
          balance [-b addr] [-t sec] [-T sec] [-adfH6] [--workers n] --takeover port
        Control a running proxy:
          balance [-b addr] -i [-d] [-M] port          interactive shell
          balance [-b addr] -c cmd [-d] [-M] port...   run commands ("cmd1; cmd2") on each and exit
          balance [-b addr] --metrics-file FILE port   write its Prometheus figures to FILE and exit

        The port is a number or a TCP service name (http, smtp, ...). Each channel is a back-end
        host[:port[:maxc[:weight]]]; an IPv6 back-end is written [addr]:port:maxc:weight. A missing
        port means the listen port, maxc 0 or missing means unlimited connections, weight (default 1,
        up to 256, 0 = no new clients) is the channel's share under wrr, leastconn and maglev.
        Channels form a group; '!' ends a round-robin group and '%' a client-hash group, and the next
        group takes over when no channel of the previous one can serve. The last group is round robin
        unless a trailing '%' ends it.

        Options (they must come before the port):
          -a       switch a channel off when connecting to it fails; enable it again by hand
          -b addr  listen on this address or host name only (and find the instance there with -i/-c)
          -B addr  connect to back-ends from this local address
          -c cmd   run shell commands against the running instance on each port given, then exit
          -d       print debug lines on stderr (start-up, every connection)
          -f       stay in the foreground; without it balance starts in the background and returns
                   once it is listening (its -d and -p output is then discarded: use -f to see it)
          -H       in a hash group, try the next channels when the hashed one cannot serve
          -i       interactive shell for the running instance on port
          -M       accepted for compatibility; the control state is always a shared mapped file
          -p       dump every relayed chunk on stdout
          -t sec   connect timeout per back-end attempt in whole seconds (default 5)
          -T sec   close a session idle in both directions for sec seconds (default: never)
          -6       listen on IPv6 (without -b: every IPv6 and IPv4 address)
          --policy word  the policy of every group '!' or the end closes: rr, hash, wrr, leastconn,
                   maglev; --policy N=word sets group N alone (repeat it for several groups)
          --workers n  relay on n workers, each with its own loop and listening socket
                   (default 0: one per CPU this process may run on)
          --metrics addr:port  serve /metrics (Prometheus) and a status page at / on this address,
                   e.g. 127.0.0.1:9100 (off unless given; read-only; docs/monitoring.md)
          --keepalive idle,intvl,cnt  TCP keepalive on both sockets of a session: probe after idle
                   s of silence, every intvl s, drop after cnt unanswered (default: the system's)
          --layout FILE  take groups and channels from a layout file (saved by the shell's save FILE;
                   docs/layout-file.md); no channels on the command line then
          --state-file FILE  keep FILE current with every change; when it exists, start from it
                   (it wins over the channels given, which are the first start's)
          --takeover   take over the proxy running on port: its listening sockets, queued clients
                   and layout; it drains and stops (docs/restart.md)
          -h, --help   show this text      --version   show the version

        Health checks (off unless given; times in ms or with a unit: 500ms, 2s, 1m):
          --check-interval t  connect to every back-end every t; down after --fall failed checks
                   in a row (default 3), up again after --rise passed ones (default 2)
          --check-timeout t   how long one check may take (default 2s, at most the interval)
          --check-send text   send text once connected (\r \n \t \\ escapes work)
          --check-expect text the check passes only when the reply contains text
          --max-fails n       n failed client connects in a row take a channel down ...
          --fail-timeout t    ... for t (default 10s); then clients try it again

        Exit codes: 0 done, 64 usage, 65 bad back-end or incompatible instance, 69 no such instance or
        group problem, 70 internal error, 71 cannot listen, 73 cannot write the file, 77 permission denied.
        """;

    public static string VersionLine =>
        $"balance {ProductInfo.Version} (command line and formats of balance {ProductInfo.CompatibleRelease})";
}
