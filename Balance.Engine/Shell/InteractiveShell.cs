using System.Globalization;
using Balance.Configuration;
using Balance.Control;

namespace Balance.Shell;

/// <summary>
/// The <c>-i</c> loop: a banner, then prompt, read, execute until end of input, <c>quit</c> or
/// <c>kill</c>. Output is flushed after every reply and prompt so a pipe sees it at once.
/// </summary>
internal static class InteractiveShell
{
    /// <summary>Returns the exit status: 0, or 69 when <c>kill</c> could not stop the engine.</summary>
    public static int Run(ControlClient client, TextReader input, TextWriter output) =>
        Run(new ShellSession(client), input, output);

    internal static int Run(ShellSession session, TextReader input, TextWriter output)
    {
        ArgumentNullException.ThrowIfNull(session);
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        output.Write(string.Create(
            CultureInfo.InvariantCulture,
            $"\nBalance {ProductInfo.Version} - interactive command shell (type help for the commands)\nPID of master process is {session.Client.GetInstance().ProcessId}\n\n"));
        while (true)
        {
            output.Write(session.Prompt);
            output.Flush();
            var line = input.ReadLine();
            if (line is null)
            {
                output.Write('\n');
                output.Flush();
                return ExitCodes.Ok;
            }

            var outcome = session.Execute(line, output);
            output.Flush();
            switch (outcome)
            {
                case ShellOutcome.Quit:
                case ShellOutcome.Killed:
                    return ExitCodes.Ok;
                case ShellOutcome.KillFailed:
                    return ExitCodes.Unavailable;
            }
        }
    }
}
