using System.Diagnostics;
using System.Globalization;
using Balance.Configuration;
using Balance.Control;

namespace Balance.PowerShell;

/// <summary>
/// Starts an instance that outlives this PowerShell session. Preferred: the balance executable
/// shipped in the module folder, run through a dotnet host (the one running this process, or one
/// on the machine), which detaches itself and exits once the listener is up. A machine with only
/// PowerShell (whose own runtime cannot run another app) gets a detached pwsh that imports this
/// module and keeps a Start-Balance job alive instead.
/// </summary>
internal static class DetachedStarter
{
    private static readonly TimeSpan StartBound = TimeSpan.FromSeconds(30);

    /// <param name="configuration">The start options.</param>
    /// <param name="manifestPath">The module's manifest, for the pwsh fallback.</param>
    /// <param name="layoutPath">The layout file the groups came from (-LayoutPath), passed on as the file itself.</param>
    public static InstanceInfo Start(BalanceConfiguration configuration, string? manifestPath, string? layoutPath = null)
    {
        var moduleFolder = Path.GetDirectoryName(typeof(DetachedStarter).Assembly.Location) ?? ".";
        var engineDll = Path.Combine(moduleFolder, "balance.dll");
        var arguments = OriginalCommandLine.Arguments(configuration, layoutPath);
        var start = FindDotnet() is { } dotnet && File.Exists(engineDll)
            ? Program(dotnet, [engineDll, .. arguments])
            : PowerShellHost(configuration, manifestPath, layoutPath);
        return Run(start, configuration);
    }

    /// <summary>
    /// Starts a detached <c>balance --takeover</c> that replaces the instance (process
    /// <paramref name="oldPid"/>) on <paramref name="configuration"/>'s endpoint, and returns the
    /// instance it runs. Throws <see cref="InvalidOperationException"/> with the executable's own
    /// line when the takeover failed (the old instance then keeps serving).
    /// </summary>
    public static InstanceInfo TakeOver(BalanceConfiguration configuration, int oldPid)
    {
        var moduleFolder = Path.GetDirectoryName(typeof(DetachedStarter).Assembly.Location) ?? ".";
        var engineDll = Path.Combine(moduleFolder, "balance.dll");
        if (FindDotnet() is not { } dotnet || !File.Exists(engineDll))
        {
            throw new InvalidOperationException("Restart-Balance needs a dotnet host and the balance executable in the module folder to replace an instance of another process");
        }

        var arguments = OriginalCommandLine.Arguments(configuration).ToList();
        arguments.Insert(arguments.Count - 1, "--takeover"); // before the port: no channels follow it
        var start = Program(dotnet, [engineDll, .. arguments]);
        start.RedirectStandardOutput = true;
        using var process = Process.Start(start) ?? throw new InvalidOperationException("the balance --takeover process could not be started");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(StartBound + StartBound))
        {
            process.Kill();
            throw new InvalidOperationException(string.Format(CultureInfo.InvariantCulture, "balance --takeover did not finish within {0:0} s", (StartBound + StartBound).TotalSeconds));
        }

        if (process.ExitCode != 0)
        {
            var line = stderr.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? string.Empty;
            throw new InvalidOperationException(string.Format(CultureInfo.InvariantCulture, "balance --takeover exited with status {0}: {1}", process.ExitCode, line.StartsWith("balance: ", StringComparison.Ordinal) ? line["balance: ".Length..] : line));
        }

        _ = stdout.Result;
        return TryOpen(configuration) is { } info && info.ProcessId != oldPid
            ? info
            : throw new InvalidOperationException("balance --takeover reported success but the instance is not the new process");
    }

    private static InstanceInfo Run(ProcessStartInfo start, BalanceConfiguration configuration)
    {
        using var process = Process.Start(start) ?? throw Failed("the process could not be started");
        process.StandardInput.Close();
        var stderr = process.StandardError.ReadToEndAsync();
        var deadline = Environment.TickCount64 + (long)StartBound.TotalMilliseconds;
        while (Environment.TickCount64 < deadline)
        {
            if (TryOpen(configuration) is { } info)
            {
                return info;
            }

            if (process.HasExited && process.ExitCode != 0)
            {
                var text = stderr.Wait(TimeSpan.FromSeconds(1)) ? stderr.Result.Trim() : string.Empty;
                throw Failed(string.Format(CultureInfo.InvariantCulture, "it exited with status {0}{1}", process.ExitCode, text.Length > 0 ? ": " + text : string.Empty));
            }

            Thread.Sleep(50);
        }

        throw Failed(string.Format(CultureInfo.InvariantCulture, "it was not listening after {0:0} s", StartBound.TotalSeconds));
    }

    private static InstanceInfo? TryOpen(BalanceConfiguration configuration)
    {
        try
        {
            using var client = ControlClient.Open(configuration.BindAddress, configuration.Port, configuration.IPv6);
            var info = client.GetInstance();
            return info.State == EngineState.Running ? info : null;
        }
        catch (ControlException e) when (e.Error is ControlError.NotRunning or ControlError.Corrupt)
        {
            // Not there yet, or caught while the engine is still writing the segment header.
            return null;
        }
    }

    private static ProcessStartInfo Program(string fileName, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = false,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        return start;
    }

    private static ProcessStartInfo PowerShellHost(BalanceConfiguration configuration, string? manifestPath, string? layoutPath)
    {
        if (manifestPath is null || !File.Exists(manifestPath))
        {
            throw Failed("no dotnet host was found to run the balance executable, and the module was not imported from a manifest that a background pwsh could import; install the .NET runtime or import Balance by its .psd1");
        }

        var pwsh = Environment.ProcessPath ?? "pwsh";
        var script = string.Format(
            CultureInfo.InvariantCulture,
            "Import-Module '{0}'; $job = Start-Balance -Port {1} {2}{3}{4}; $null = Wait-Job -Job $job",
            manifestPath.Replace("'", "''", StringComparison.Ordinal),
            configuration.Port,
            layoutPath is null
                ? "-Channel " + string.Join(",", OriginalCommandLine.ChannelWords(configuration).Select(a => "'" + a.Replace("'", "''", StringComparison.Ordinal) + "'"))
                : "-LayoutPath '" + layoutPath.Replace("'", "''", StringComparison.Ordinal) + "'",
            configuration.BindAddress is { } b ? " -BindAddress '" + b.Replace("'", "''", StringComparison.Ordinal) + "'" : string.Empty,
            Options(configuration));
        string[] pwshArgs = ["-NoProfile", "-NonInteractive", "-Command", script];

        // setsid keeps the engine out of the terminal's session, so closing the terminal does not hang it up.
        return File.Exists("/usr/bin/setsid") ? Program("/usr/bin/setsid", [pwsh, .. pwshArgs]) : Program(pwsh, pwshArgs);
    }

    private static string Options(BalanceConfiguration c) => string.Concat(
        c.OutboundAddress is { } o ? " -OutboundAddress '" + o.Replace("'", "''", StringComparison.Ordinal) + "'" : string.Empty,
        string.Create(CultureInfo.InvariantCulture, $" -ConnectTimeout {(int)c.ConnectTimeout.TotalSeconds} -IdleTimeout {(int)c.IdleTimeout.TotalSeconds}"),
        c.AutoDisable ? " -AutoDisable" : string.Empty,
        c.HashFailover ? " -HashFailover" : string.Empty,
        c.IPv6 ? " -IPv6" : string.Empty,
        c.Workers > 0 ? string.Create(CultureInfo.InvariantCulture, $" -Workers {c.Workers}") : string.Empty,
        c.StateFile is { } state ? " -StateFile '" + state.Replace("'", "''", StringComparison.Ordinal) + "'" : string.Empty,
        CheckParameters(c.Checks));

    private static string CheckParameters(HealthCheckOptions k) => string.Concat(
        k.Active ? string.Create(CultureInfo.InvariantCulture, $" -CheckInterval {k.Interval.TotalSeconds:R} -CheckTimeout {k.EffectiveTimeout.TotalSeconds:R} -Rise {k.Rise} -Fall {k.Fall}") : string.Empty,
        k.Active && k.Send is { } send ? " -CheckSend '" + send.Replace("'", "''", StringComparison.Ordinal) + "'" : string.Empty,
        k.Active && k.Expect is { } expect ? " -CheckExpect '" + expect.Replace("'", "''", StringComparison.Ordinal) + "'" : string.Empty,
        k.Passive ? string.Create(CultureInfo.InvariantCulture, $" -MaxFails {k.MaxFails} -FailTimeout {k.FailTimeout.TotalSeconds:R}") : string.Empty);

    /// <summary>The dotnet host running this process, else one installed on the machine.</summary>
    private static string? FindDotnet()
    {
        var self = Environment.ProcessPath;
        if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
        {
            return self;
        }

        var exe = OperatingSystem.IsWindows() ? "dotnet.exe" : "dotnet";
        var roots = new[] { Environment.GetEnvironmentVariable("DOTNET_ROOT") }
            .Concat((Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator));
        return roots.Where(r => !string.IsNullOrEmpty(r)).Select(r => Path.Combine(r!, exe)).FirstOrDefault(File.Exists);
    }

    private static InvalidOperationException Failed(string why) => new("the detached Balance instance did not start: " + why);
}
