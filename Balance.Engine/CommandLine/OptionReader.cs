using Balance.Configuration;

namespace Balance.CommandLine;

/// <summary>
/// Classic getopt over an argument list: options come before the first operand, single-letter
/// options cluster (<c>-fa</c>), an option that takes a value accepts it attached (<c>-t5</c>) or as
/// the next word (<c>-t 5</c>), <c>--</c> ends the options and a lone <c>-</c> is an operand. Scripts
/// written for the original rely on exactly these rules, so no GNU-style permutation is done.
/// Long options are limited to the few this program defines (<c>--help</c>, <c>--version</c>,
/// <c>--workers N</c>, <c>--metrics ADDR:PORT</c>); one that takes a value accepts it as the next word or after <c>=</c>.
/// </summary>
internal sealed class OptionReader
{
    private readonly IReadOnlyList<string> args;
    private readonly string optionString;
    private readonly IReadOnlySet<string> longOptions;
    private readonly IReadOnlySet<string> longOptionsWithValue;
    private int index;
    private int clusterPosition;

    /// <param name="args">The command line, without the program name.</param>
    /// <param name="optionString">Letters of the valid options; a letter followed by ':' takes a value.</param>
    /// <param name="longOptions">Names of the long options without a value.</param>
    /// <param name="longOptionsWithValue">Names of the long options that take a value; none when null.</param>
    public OptionReader(IReadOnlyList<string> args, string optionString, IReadOnlySet<string> longOptions, IReadOnlySet<string>? longOptionsWithValue = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        this.args = args;
        this.optionString = optionString;
        this.longOptions = longOptions;
        this.longOptionsWithValue = longOptionsWithValue ?? new HashSet<string>();
    }

    /// <summary>Index of the first operand once <see cref="TryNext"/> has returned false.</summary>
    public int OperandIndex => index;

    /// <summary>
    /// Reads the next option. <paramref name="name"/> is the letter (as a one-character string) or the
    /// long option's name without its dashes; <paramref name="value"/> is the option's value or null.
    /// </summary>
    public bool TryNext(out string name, out string? value)
    {
        name = string.Empty;
        value = null;
        if (clusterPosition == 0)
        {
            if (index >= args.Count)
            {
                return false;
            }

            var word = args[index];
            if (word == "--")
            {
                index++;
                return false;
            }

            if (word.Length < 2 || word[0] != '-')
            {
                return false;
            }

            if (word.StartsWith("--", StringComparison.Ordinal))
            {
                index++;
                ReadLong(word, out name, out value);
                return true;
            }

            clusterPosition = 1;
        }

        var cluster = args[index];
        var letter = cluster[clusterPosition];
        var spec = letter == ':' ? -1 : optionString.IndexOf(letter, StringComparison.Ordinal);
        if (spec < 0)
        {
            throw Unknown("-" + letter);
        }

        name = letter.ToString();
        var takesValue = spec + 1 < optionString.Length && optionString[spec + 1] == ':';
        clusterPosition++;
        if (takesValue)
        {
            if (clusterPosition < cluster.Length)
            {
                value = cluster[clusterPosition..];
                EndCluster();
            }
            else
            {
                EndCluster();
                if (index >= args.Count)
                {
                    throw new ConfigurationException($"option -{letter} needs a value: write -{letter} VALUE before the port", "-" + letter, ExitCodes.Usage);
                }

                value = args[index++];
            }
        }
        else if (clusterPosition >= cluster.Length)
        {
            EndCluster();
        }

        return true;
    }

    private void ReadLong(string word, out string name, out string? value)
    {
        var equals = word.IndexOf('=', StringComparison.Ordinal);
        name = equals < 0 ? word[2..] : word[2..equals];
        value = equals < 0 ? null : word[(equals + 1)..];
        if (longOptions.Contains(name))
        {
            if (equals >= 0)
            {
                throw new ConfigurationException($"option --{name} takes no value: write --{name} alone", word, ExitCodes.Usage);
            }

            return;
        }

        if (!longOptionsWithValue.Contains(name))
        {
            throw Unknown(equals < 0 ? word : word[..equals]);
        }

        if (value is null)
        {
            if (index >= args.Count)
            {
                throw new ConfigurationException($"option --{name} needs a value: write --{name} VALUE before the port", "--" + name, ExitCodes.Usage);
            }

            value = args[index++];
        }
    }

    private void EndCluster()
    {
        clusterPosition = 0;
        index++;
    }

    private static ConfigurationException Unknown(string option) =>
        new($"unknown option [{option}]: options are -a -b -B -c -d -f -H -i -M -p -t -T -6, --workers N, --policy WORD, --metrics ADDR:PORT, --metrics-file FILE, --keepalive IDLE,INTVL,CNT, --layout FILE, --state-file FILE, --takeover, the health check options (balance -h), -h and --version; they go before the port", option, ExitCodes.Usage);
}
