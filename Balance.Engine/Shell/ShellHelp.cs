namespace Balance.Shell;

/// <summary>The reply to <c>help</c> and <c>?</c>: the commands of balance 3.54, in its order, described in our words, then the ones added since.</summary>
internal static class ShellHelp
{
    public const string Text =
        "available commands:\n" +
        "  create <host> <port>           add a channel (disabled) to the current group; host:port works too\n" +
        "  assign <channel> <host> <port> point a disabled channel of the current group elsewhere\n" +
        "  disable <channel>              stop sending new connections to a channel\n" +
        "  enable <channel>               let a channel take new connections again\n" +
        "  group <group>                  make <group> the current group of later commands\n" +
        "  hash                           pick channels of the current group by client address\n" +
        "  help                           print this list (also: ?)\n" +
        "  kill                           stop the engine (only the full word is accepted)\n" +
        "  maxc <channel> <limit>         cap a channel's simultaneous connections (0 = no cap)\n" +
        "  mrtg-bytes <group> <channel>   byte counters of a channel for MRTG\n" +
        "  mrtg-conns <group> <channel>   connection counter of a channel for MRTG\n" +
        "  quit                           leave this shell; the engine keeps running\n" +
        "  reset <channel>                zero a channel's counters (not its live connections)\n" +
        "  rr                             pick channels of the current group in turn\n" +
        "  show                           list every channel with its state and counters\n" +
        "  version                        print the version and the limits of this instance\n" +
        "added since (full names only):\n" +
        "  drain <channel>                no new connections, live ones go on\n" +
        "  health                         health and last check of every channel\n" +
        "  check <channel> <setting> <n>  own check interval|rise|fall|port\n" +
        "  mrtg-health <group> <channel>  health, admin state for MRTG\n" +
        "  wrr                            current group: smooth weighted round robin\n" +
        "  leastconn                      current group: fewest connections per weight\n" +
        "  maglev                         current group: Maglev hash of client address\n" +
        "  weight <channel> <w>           share of new clients, 0 (none) to 256\n" +
        "  save <file>                    write the live layout to a layout file\n";
}
