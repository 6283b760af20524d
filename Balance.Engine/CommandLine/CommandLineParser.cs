using System.Globalization;
using Balance.Configuration;
using Balance.Metrics;

namespace Balance.CommandLine;

/// <summary>
/// Turns the original's command line into a <see cref="ParsedCommandLine"/>. Pure: no network, no
/// files (except the services database for port names), but for a <c>--layout</c> or
/// <c>--state-file</c> file, which is read and its hosts resolved here so that its mistakes name
/// its lines before anything starts (<see cref="LayoutOptions"/>). Every mistake is a
/// <see cref="ConfigurationException"/> naming the offending word, with the original's exit code.
/// </summary>
internal static class CommandLineParser
{
    /// <summary>The original's getopt string plus <c>h</c> for help.</summary>
    public const string OptionString = "c:b:B:t:T:adfpiHM6h";

    public const int MaxConnectTimeoutSeconds = 86_400;
    public const int MaxIdleTimeoutSeconds = 24 * 86_400;

    /// <summary>The longest host name DNS allows (RFC 1035: 253 characters written out).</summary>
    public const int MaxHostNameLength = 253;

    private static readonly HashSet<string> LongOptions = new(StringComparer.Ordinal) { "help", "version", TakeoverOption };

    private const string TakeoverOption = "takeover";

    private static readonly HashSet<string> LongOptionsWithValue = new(HealthOptionParser.Names, StringComparer.Ordinal) { WorkersOption, "metrics", "metrics-file", PolicyOption.Name, "keepalive", LayoutOptions.LayoutName, LayoutOptions.StateFileName };

    private const string WorkersOption = "workers";

    public static ParsedCommandLine Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var reader = new OptionReader(args, OptionString, LongOptions, LongOptionsWithValue);
        var options = new StartOptions();
        var policies = new PolicyOption();
        var policyGiven = false;
        var layout = new LayoutOptions();
        while (reader.TryNext(out var name, out var value))
        {
            switch (name)
            {
                case "h" or "help":
                    return new ParsedCommandLine(BalanceMode.Help, new BalanceConfiguration());
                case "version":
                    return new ParsedCommandLine(BalanceMode.Version, new BalanceConfiguration());
                case TakeoverOption:
                    options.Takeover = true;
                    break;
                case WorkersOption:
                    options.Workers = ParseWorkers(value!);
                    break;
                case PolicyOption.Name:
                    policies.Add(value!);
                    policyGiven = true;
                    break;
                case "metrics":
                    options.MetricsEndpoint = MetricsAddress.Parse(value!);
                    break;
                case "keepalive":
                    options.Keepalive = KeepaliveTiming.Parse(value!);
                    break;
                case "metrics-file":
                    options.MetricsFile = string.IsNullOrWhiteSpace(value)
                        ? throw new ConfigurationException("option --metrics-file has an empty value: give the file to write, e.g. /var/lib/node_exporter/textfile/balance.prom", "--metrics-file", ExitCodes.Usage)
                        : value;
                    break;
                case LayoutOptions.LayoutName or LayoutOptions.StateFileName:
                    layout.Set(name, value!);
                    break;
                case { Length: > 1 }:
                    options.Checks = HealthOptionParser.Apply(options.Checks, name, value!);
                    break;
                default:
                    options.Apply(name[0], value);
                    break;
            }
        }

        var operands = args.Skip(reader.OperandIndex).ToArray();
        if (operands.Length == 0)
        {
            throw new ConfigurationException(
                "the port is missing: give the port to listen on (or, with -i/-c, the port of the running instance) after the options",
                null,
                ExitCodes.Usage);
        }

        var port = ParsePort(operands[0]);
        RejectMisplacedOptions(operands);
        var shellMode = options.Command is not null || options.Interactive;
        if (options.Takeover && (shellMode || options.MetricsFile is not null || policyGiven))
        {
            throw new ConfigurationException("option --takeover starts a proxy that replaces the running one: give it with the engine options, not with -i, -c, --metrics-file or --policy", "--takeover", ExitCodes.Usage);
        }

        if (policyGiven && (shellMode || options.MetricsFile is not null))
        {
            throw new ConfigurationException("option --policy sets the groups of a proxy you start: give it with the channels, not with -i or -c (there, use the words wrr, leastconn, maglev)", "--policy", ExitCodes.Usage);
        }

        layout.RejectOutsideStart(shellMode || options.MetricsFile is not null, policyGiven);
        if (options.MetricsFile is not null)
        {
            return MetricsFileMode(options, port, operands);
        }

        if (shellMode && options.MetricsEndpoint is not null)
        {
            throw new ConfigurationException("option --metrics serves a proxy you start: give it with the channels, not with -i or -c", "--metrics", ExitCodes.Usage);
        }

        if (shellMode)
        {
            var endpoint = new BalanceConfiguration { BindAddress = options.BindAddress, Port = port, IPv6 = options.IPv6 };
            return new ParsedCommandLine(options.Command is null ? BalanceMode.Interactive : BalanceMode.Command, endpoint)
            {
                CommandText = options.Command,
                MappedFileRequested = options.MappedFile,
                Ports = ShellPorts(operands, options.Command is null),
            };
        }

        if (options.Takeover)
        {
            layout.RejectWithTakeover();
            return Takeover(options, port, operands, layout.StateFile);
        }

        var groups = layout.Groups(operands);
        if (groups is null && operands.Length == 1)
        {
            throw new ConfigurationException(
                $"no channel after port [{operands[0]}]: give at least one back-end host[:port[:maxc]] to forward to (balance [options] port channels...)",
                operands[0],
                ExitCodes.Usage);
        }

        var configuration = StartConfiguration(options, port, groups ?? policies.Apply(GroupSpec.ParseList(operands.Skip(1), port)), layout.StateFile);
        configuration.Validate();
        return new ParsedCommandLine(BalanceMode.Start, configuration)
        {
            Foreground = options.Foreground,
            MappedFileRequested = options.MappedFile,
        };
    }

    private static BalanceConfiguration StartConfiguration(StartOptions options, int port, IReadOnlyList<GroupSpec> groups, string? stateFile) =>
        new BalanceConfiguration
        {
            BindAddress = options.BindAddress,
            Port = port,
            IPv6 = options.IPv6,
            OutboundAddress = options.OutboundAddress,
            ConnectTimeout = TimeSpan.FromSeconds(options.ConnectTimeoutSeconds),
            IdleTimeout = TimeSpan.FromSeconds(options.IdleTimeoutSeconds),
            AutoDisable = options.AutoDisable,
            HashFailover = options.HashFailover,
            PacketDump = options.PacketDump,
            Debug = options.Debug,
            Workers = options.Workers,
            MetricsEndpoint = options.MetricsEndpoint,
            Keepalive = options.Keepalive,
            Checks = options.Checks,
            Groups = groups,
            StateFile = stateFile,
        }.WithLimitsSized();

    /// <summary>
    /// <c>--takeover [options] port</c>: the engine options as for a start, the channels copied from
    /// the running instance, so channels given here are refused rather than silently dropped.
    /// </summary>
    private static ParsedCommandLine Takeover(StartOptions options, int port, string[] operands, string? stateFile)
    {
        if (operands.Length > 1)
        {
            throw new ConfigurationException(
                $"unexpected channel [{operands[1]}] with --takeover: the new engine copies the running instance's channels; change them with the shell once it has taken over",
                operands[1],
                ExitCodes.Usage);
        }

        var configuration = StartConfiguration(options, port, [], stateFile);
        configuration.Validate();
        return new ParsedCommandLine(BalanceMode.Start, configuration)
        {
            Foreground = options.Foreground,
            MappedFileRequested = options.MappedFile,
            Takeover = true,
        };
    }

    /// <summary>
    /// The ports a shell mode addresses: <c>-i</c> talks to one instance, <c>-c</c> runs its script
    /// on each port given in turn (the fleet form, <c>balance -c "drain 1" 8080 8081</c>).
    /// </summary>
    private static IReadOnlyList<int> ShellPorts(string[] operands, bool interactive)
    {
        if (interactive && operands.Length > 1)
        {
            throw new ConfigurationException(
                $"unexpected argument [{operands[1]}]: -i takes only the port of a running instance (-c takes several); channels are given when starting it",
                operands[1],
                ExitCodes.Usage);
        }

        var ports = new List<int>();
        foreach (var operand in operands)
        {
            if (!ServicePorts.TryParse(operand, out var port))
            {
                throw new ConfigurationException(
                    $"unexpected argument [{operand}]: -c takes the ports of running instances (balance -c \"show\" 8080 8081); channels are given when starting it",
                    operand,
                    ExitCodes.Usage);
            }

            ports.Add(port);
        }

        return ports;
    }

    /// <summary><c>--metrics-file FILE port</c>: the running instance's figures written once for a textfile collector.</summary>
    private static ParsedCommandLine MetricsFileMode(StartOptions options, int port, string[] operands)
    {
        if (operands.Length > 1 || options.Command is not null || options.Interactive || options.MetricsEndpoint is not null)
        {
            throw new ConfigurationException(
                "option --metrics-file takes only the port of a running instance (and -b, -6): balance [-b addr] --metrics-file FILE port",
                "--metrics-file",
                ExitCodes.Usage);
        }

        var endpoint = new BalanceConfiguration { BindAddress = options.BindAddress, Port = port, IPv6 = options.IPv6 };
        return new ParsedCommandLine(BalanceMode.MetricsFile, endpoint) { MetricsFile = options.MetricsFile };
    }

    /// <summary>
    /// getopt stops at the port, so an option written after it would be taken as a back-end
    /// named "-f" and only fail at resolution; say what happened instead.
    /// </summary>
    private static void RejectMisplacedOptions(string[] operands)
    {
        foreach (var word in operands.Skip(1))
        {
            if (word.Length > 1 && word[0] == '-')
            {
                throw new ConfigurationException(
                    $"option [{word}] after the port: options must come before the port (balance [options] port channels...)",
                    word,
                    ExitCodes.Usage);
            }
        }
    }

    /// <summary>A listen port: a number 1-65535 or a TCP service name.</summary>
    public static int ParsePort(string token)
    {
        ArgumentNullException.ThrowIfNull(token);
        if (!ServicePorts.TryParse(token, out var port))
        {
            throw new ConfigurationException(
                $"invalid port [{token}]: give a number 1-65535 or a TCP service name",
                token,
                ExitCodes.Usage);
        }

        return port;
    }

    /// <summary>Whole seconds in [1, max]: the original's alarm-based timers knew nothing finer.</summary>
    public static int ParseSeconds(char option, string value, int max)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds < 1 || seconds > max)
        {
            var what = option == 't' ? "connect timeout" : "idle timeout";
            throw new ConfigurationException(
                string.Create(CultureInfo.InvariantCulture, $"invalid {what} [-{option} {value}]: give whole seconds from 1 to {max}"),
                value,
                ExitCodes.Usage);
        }

        return seconds;
    }

    /// <summary>A worker count for <c>--workers</c>: 1 up to <see cref="BalanceConfiguration.LimitWorkers"/>, or 0 for one per CPU.</summary>
    public static int ParseWorkers(string value)
    {
        if (!int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var workers) || workers > BalanceConfiguration.LimitWorkers)
        {
            throw new ConfigurationException(
                string.Create(CultureInfo.InvariantCulture, $"invalid worker count [--workers {value}]: give 1 to {BalanceConfiguration.LimitWorkers}, or 0 for one per CPU"),
                value,
                ExitCodes.Usage);
        }

        return workers;
    }

    /// <summary>The options as read so far; later occurrences win, as with getopt loops.</summary>
    private sealed class StartOptions
    {
        public string? BindAddress { get; private set; }

        public string? OutboundAddress { get; private set; }

        public string? Command { get; private set; }

        public int ConnectTimeoutSeconds { get; private set; } = 5;

        public int IdleTimeoutSeconds { get; private set; }

        public bool AutoDisable { get; private set; }

        public bool Debug { get; private set; }

        public bool Foreground { get; private set; }

        public bool PacketDump { get; private set; }

        public bool Interactive { get; private set; }

        public bool HashFailover { get; private set; }

        public bool MappedFile { get; private set; }

        public bool IPv6 { get; private set; }

        /// <summary><c>--takeover</c>: replace the instance running on the endpoint.</summary>
        public bool Takeover { get; set; }

        /// <summary><c>--workers</c>; 0 = one per CPU.</summary>
        public int Workers { get; set; }
        public System.Net.IPEndPoint? MetricsEndpoint { get; set; }

        /// <summary><c>--keepalive</c>; null = the system's timing.</summary>
        public KeepaliveTiming? Keepalive { get; set; }

        public string? MetricsFile { get; set; }

        /// <summary><c>--check-*</c>, <c>--rise</c>, <c>--fall</c>, <c>--max-fails</c>, <c>--fail-timeout</c>.</summary>
        public HealthCheckOptions Checks { get; set; } = HealthCheckOptions.None;

        public void Apply(char option, string? value)
        {
            switch (option)
            {
                case 'b':
                    BindAddress = RequireHost(option, value, "an address or host name to listen on");
                    break;
                case 'B':
                    OutboundAddress = RequireHost(option, value, "a local address for back-end connections");
                    break;
                case 'c':
                    Command = RequireText(option, value, "one or more shell commands, e.g. -c show");
                    break;
                case 't':
                    ConnectTimeoutSeconds = ParseSeconds(option, value!, MaxConnectTimeoutSeconds);
                    break;
                case 'T':
                    IdleTimeoutSeconds = ParseSeconds(option, value!, MaxIdleTimeoutSeconds);
                    break;
                case 'a':
                    AutoDisable = true;
                    break;
                case 'd':
                    Debug = true;
                    break;
                case 'f':
                    Foreground = true;
                    break;
                case 'p':
                    PacketDump = true;
                    break;
                case 'i':
                    Interactive = true;
                    break;
                case 'H':
                    HashFailover = true;
                    break;
                case 'M':
                    MappedFile = true;
                    break;
                case '6':
                    IPv6 = true;
                    break;
                default:
                    throw new InvalidOperationException($"option -{option} is in the option string but not handled");
            }
        }

        /// <summary>Checked here because the resolver refuses a long name with an exception, not an answer.</summary>
        private static string RequireHost(char option, string? value, string what)
        {
            var host = RequireText(option, value, what);
            if (host.Length > MaxHostNameLength)
            {
                throw new ConfigurationException(
                    string.Create(CultureInfo.InvariantCulture, $"option -{option} value [{host[..20]}...] is {host.Length} characters long: give {what} of at most {MaxHostNameLength} characters"),
                    "-" + option,
                    ExitCodes.Usage);
            }

            return host;
        }

        private static string RequireText(char option, string? value, string what)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new ConfigurationException($"option -{option} has an empty value: give {what}", "-" + option, ExitCodes.Usage);
            }

            return value;
        }
    }
}
