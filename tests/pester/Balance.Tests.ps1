#Requires -Version 7.6
<#
    Pester 5 suite for the Balance module: real pwsh, the real engine, real sockets on loopback.
    Run it with every other test through `dotnet pwsh ./build.ps1 -Task Test` (README.md), which
    fails when fewer tests are discovered than it expects.
#>

BeforeDiscovery {
    # Discovery runs before BeforeAll: whatever -ForEach enumerates must be loaded here.
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path
    Import-Module (Join-Path $repo 'Balance.psd1') -Force -ErrorAction Stop
    $commands = @(Get-Command -Module Balance | ForEach-Object Name)
    $examples = foreach ($name in $commands) {
        $n = 0
        foreach ($example in (Get-Help $name -Full).Examples.Example) {
            $n++
            @{ Command = $name; Number = $n; Code = ($example.Code -join "`n") }
        }
    }
}

BeforeAll {
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path
    Import-Module (Join-Path $repo 'Balance.psd1') -Force -ErrorAction Stop

    function Get-FreePort {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }

    # A live instance as the help examples expect: group 0 round robin with three channels, group 1 hash with three.
    function Start-ExampleInstance([int] $Port) {
        Start-Balance -Port $Port -BindAddress 127.0.0.1 -Name "example$Port" -Channel `
            '127.0.0.1:8081', '127.0.0.1:8082', '127.0.0.1:8083', '!', '127.0.0.1:8084', '127.0.0.1:8085', '127.0.0.1:8086', '%'
    }

    function Stop-Everything([int[]] $Ports) {
        Get-Job | Where-Object PSJobTypeName -eq 'BalanceJob' | Remove-Job -Force
        foreach ($p in $Ports) {
            Get-Balance -Port $p -ErrorAction SilentlyContinue | Stop-Balance -Confirm:$false -ErrorAction SilentlyContinue
        }
    }

    function Send-Request([int] $Port) {
        $client = [System.Net.Sockets.TcpClient]::new('127.0.0.1', $Port)
        try {
            $stream = $client.GetStream()
            $request = [System.Text.Encoding]::ASCII.GetBytes("GET / HTTP/1.0`r`n`r`n")
            $stream.Write($request, 0, $request.Length)
            [System.IO.StreamReader]::new($stream).ReadToEnd()
        }
        finally { $client.Dispose() }
    }

    # The pwsh running this suite as a command line (under `dotnet pwsh`: dotnet and pwsh.dll).
    function Get-PwshCommand {
        $process = [Environment]::ProcessPath
        if ([System.IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') {
            return @($process, (Join-Path $PSHOME 'pwsh.dll'))
        }
        @($process)
    }
}

AfterAll {
    Get-Job | Where-Object PSJobTypeName -eq 'BalanceJob' | Remove-Job -Force
    Remove-Module Balance -ErrorAction SilentlyContinue
}

Describe 'Module contract' {
    It 'exports exactly the cmdlets of the manifest, with approved verbs and the Balance noun prefix' {
        $commands = Get-Command -Module Balance
        $commands.Count | Should -Be 19
        $verbs = (Get-Verb).Verb
        foreach ($command in $commands) {
            $command.Verb | Should -BeIn $verbs
            $command.Noun | Should -BeLike 'Balance*'
        }
    }

    It '<_> has help: synopsis, description, examples, and switches shown as switches' -ForEach $commands {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeLike "$_*"
        $help.Description.Text | Should -Not -BeNullOrEmpty
        @($help.Examples.Example).Count | Should -BeGreaterThan 0
        $syntax = ($help.Syntax | Out-String -Width 500)
        $syntax | Should -Not -Match '\[-\w+ <SwitchParameter>\]'
    }

    It '<_> declares its output type, and no online help link that leads nowhere' -ForEach $commands {
        $command = Get-Command $_
        $command.OutputType | Should -Not -BeNullOrEmpty
        $command.HelpUri | Should -BeNullOrEmpty
    }

    It '<_> supports ShouldProcess when it changes something' -ForEach ($commands | Where-Object { $_ -notlike 'Get-*' -and $_ -notlike 'Wait-*' -and $_ -ne 'New-BalanceGroup' }) {
        (Get-Command $_).Parameters.Keys | Should -Contain 'WhatIf'
    }

    It '<_> keeps the list shape of its NOTES' -ForEach $commands {
        $page = Get-Content -Raw (Join-Path $repo 'docs' 'cmdlets' "$_.md")
        $items = [regex]::Matches($page.Substring($page.IndexOf('## NOTES')), '(?m)^- `').Count
        $notes = (Get-Help $_ -Full).alertSet | Out-String -Width 1000
        $items | Should -BeGreaterThan 0
        [regex]::Matches($notes, '(?m)^\s*- `').Count | Should -Be $items
    }

    It 'finds about_Balance' {
        (Get-Help about_Balance | Out-String) | Should -Match 'SHORT DESCRIPTION'
    }
}

Describe 'Help examples' {
    It '<Command> example <Number> runs as written' -ForEach $examples {
        # Ports are the one thing an example cannot know: each runs against free ones, nothing else changes.
        $p8080 = Get-FreePort; $p9000 = Get-FreePort; $p2525 = Get-FreePort; $p9100 = Get-FreePort
        $code = $Code -replace '\b8080\b', $p8080 -replace '\b9000\b', $p9000 -replace '\b2525\b', $p2525 -replace '\b9100\b', $p9100
        $starts = $Code -match '\bStart-Balance' # not Restart-Balance
        if (-not $starts) { $null = Start-ExampleInstance $p8080 }
        $folder = Join-Path ([System.IO.Path]::GetTempPath()) "balance-example-$([guid]::NewGuid().ToString('N'))"
        $null = New-Item -ItemType Directory -Path $folder
        Push-Location $folder
        try {
            $ErrorActionPreference = 'Stop'
            $null = & ([scriptblock]::Create($code)) *>&1 | Out-String
        }
        finally {
            Pop-Location
            Remove-Item -LiteralPath $folder -Recurse -Force
            Stop-Everything $p8080, $p9000, $p2525
        }
    }
}

Describe 'Scheduled export recipes (docs/mrtg-export.md)' {
    BeforeDiscovery {
        # Every pwsh command line of the page (MRTG target, cron, Task Scheduler, schtasks), as written.
        $doc = Get-Content -Raw (Join-Path $PSScriptRoot '..' '..' 'docs' 'mrtg-export.md')
        $recipes = @([regex]::Matches($doc, '-Command \\?"(?<script>Import-Module Balance;(?:[^"\\]|\\(?!"))+)\\?"') |
                ForEach-Object { @{ Script = $_.Groups['script'].Value } })
    }

    BeforeAll {
        # The recipes say `Import-Module Balance`: they run in a pwsh that finds the packaged module on its path.
        $modules = Join-Path ([System.IO.Path]::GetTempPath()) "balance-recipes-$([guid]::NewGuid().ToString('N'))"
        $pwsh = Get-PwshCommand
        & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $repo 'build.ps1') -Task Package -NoBuild -OutputPath $modules | Out-Null
        $port = Get-FreePort
        $null = Start-ExampleInstance $port
    }

    AfterAll {
        Stop-Everything $port
        Remove-Item -LiteralPath $modules -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'finds the recipes of every scheduler on the page' -ForEach @{ Found = $recipes.Count } {
        $Found | Should -Be 5
    }

    It 'runs <Script>' -ForEach $recipes {
        $folder = Join-Path $modules "files-$([guid]::NewGuid().ToString('N'))"
        $null = New-Item -ItemType Directory -Path $folder
        # Only the ports and the folders of the page change: nothing else is copied or rewritten.
        $script = $Script -replace '\b8080\b', $port -replace '(/var/lib/mrtg|/var/log/balance|C:\\ProgramData\\Balance)[/\\]', "$folder/"
        $saved = $env:PSModulePath
        try {
            $env:PSModulePath = $modules + [System.IO.Path]::PathSeparator + $saved
            $output = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $script 2>&1
        }
        finally { $env:PSModulePath = $saved }
        $LASTEXITCODE | Should -Be 0 -Because ($output | Out-String)
        if ($script -match '-Path (\S+)') {
            Test-Path -LiteralPath $Matches[1] | Should -BeTrue
        }
        elseif ($script -match '-Format Mrtg') {
            @($output).Count | Should -Be 4
        }
    }
}

Describe 'A Balance job end to end' {
    BeforeAll {
        $backendA = Get-FreePort; $backendB = Get-FreePort
        $pwsh = Get-PwshCommand
        $script = Join-Path $PSScriptRoot 'DemoBackend.ps1'
        $backends = foreach ($b in @(@($backendA, 'alpha'), @($backendB, 'beta'))) {
            # Redirected: a back-end must not hold the suite's output open (CI pipes it into tee).
            $log = Join-Path ([System.IO.Path]::GetTempPath()) "balance-backend-$($b[0])"
            Start-Process -FilePath $pwsh[0] -ArgumentList (@($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $script, '-Port', $b[0], '-Name', $b[1], '-Seconds', 300)) -PassThru `
                -RedirectStandardOutput "$log.out" -RedirectStandardError "$log.err"
        }
        $deadline = [DateTime]::UtcNow.AddSeconds(60)
        foreach ($b in $backendA, $backendB) {
            while ($true) {
                try { [System.Net.Sockets.TcpClient]::new('127.0.0.1', $b).Dispose(); break }
                catch { if ([DateTime]::UtcNow -gt $deadline) { throw "demo back-end on $b did not start" }; Start-Sleep -Milliseconds 200 }
            }
        }
        $port = Get-FreePort
        $job = Start-Balance -Port $port -BindAddress 127.0.0.1 -Channel "127.0.0.1:$backendA", "127.0.0.1:$backendB", '!', '127.0.0.1:9' -AutoDisable
    }

    AfterAll {
        $job | Remove-Job -Force -ErrorAction SilentlyContinue
        $backends | Stop-Process -ErrorAction SilentlyContinue
        Remove-Item -Path (Join-Path ([System.IO.Path]::GetTempPath()) 'balance-backend-*') -ErrorAction SilentlyContinue
    }

    It 'is a running BalanceJob named after its endpoint' {
        $job.PSJobTypeName | Should -Be 'BalanceJob'
        $job.Name | Should -Be "Balance@127.0.0.1:$port"
        (Get-Job -Id $job.Id).State | Should -Be 'Running'
    }

    It 'forwards requests round robin to both back-ends' {
        $answers = 1..4 | ForEach-Object { (Send-Request $port) -split "`n" | Where-Object { $_ -in 'alpha', 'beta' } }
        ($answers | Sort-Object -Unique) | Should -Be @('alpha', 'beta')
    }

    It 'counts the traffic per channel' {
        $channels = Get-BalanceChannel -Port $port -Group 0
        ($channels | Measure-Object TotalConnections -Sum).Sum | Should -BeGreaterOrEqual 4
        ($channels | Measure-Object BytesReceived -Sum).Sum | Should -BeGreaterThan 0
        $counter = Get-BalanceCounter -Port $port -Group 0 -Index 0
        $counter.In | Should -Be $channels[0].BytesReceived
        @(Get-BalanceCounter -Port $port -Group 0 -Index 0 -Format Mrtg).Count | Should -Be 4
    }

    It 'changes channels through the pipeline, with -PassThru' {
        $changed = Get-BalanceChannel -Port $port -Group 0 | Set-BalanceChannel -MaxConnections 7 -PassThru
        $changed.MaxConnections | Should -Be @(7, 7)
        $row = [pscustomobject]@{ Port = $port; Group = 0; Index = 1 } | Set-BalanceChannel -MaxConnections 3 -PassThru
        $row.MaxConnections | Should -Be 3
        $disabled = Get-BalanceChannel -Port $port -Group 0 -Index 0 | Disable-BalanceChannel -PassThru
        $disabled.Enabled | Should -BeFalse
        1..2 | ForEach-Object { Send-Request $port } | Should -Match 'beta'
        Enable-BalanceChannel -Port $port -Index 0 -PassThru | ForEach-Object Enabled | Should -BeTrue
    }

    It 'adds and moves channels and switches group types' {
        $added = Add-BalanceChannel -Port $port -Group 1 -Destination 127.0.0.1:10 -PassThru
        $added.Enabled | Should -BeFalse
        Set-BalanceChannel -Port $port -Group 1 -Index $added.Index -Destination "127.0.0.1:$backendA" -PassThru |
            ForEach-Object Destination | Should -Be "127.0.0.1:$backendA"
        (Set-BalanceGroup -Port $port -Group 1 -Type Hash -PassThru).Type | Should -Be 'Hash'
        (Get-BalanceGroup -Port $port -Group 1).ChannelCount | Should -Be 2
        (Reset-BalanceChannel -Port $port -Index 0 -Confirm:$false -PassThru).TotalConnections | Should -Be 0
    }

    It 'changes nothing with -WhatIf' {
        Disable-BalanceChannel -Port $port -Group 0 -Index 1 -WhatIf
        (Get-BalanceChannel -Port $port -Group 0 -Index 1).Enabled | Should -BeTrue
    }

    It 'names the channel in ToString' {
        "$(Get-BalanceChannel -Port $port -Group 0 -Index 1)" | Should -Be "channel 1 of group 0 on 127.0.0.1:${port} (127.0.0.1:$backendB)"
        "$(Get-BalanceGroup -Port $port -Group 0)" | Should -BeLike "group 0 on 127.0.0.1:${port} *"
    }

    It 'lays out every table within 80 columns, headed by property names' {
        $views = @(
            @{ Objects = @(Get-Balance -Port $port) },
            @{ Objects = @(Get-BalanceChannel -Port $port) },
            @{ Objects = @(Get-BalanceGroup -Port $port) },
            @{ Objects = @(Get-BalanceCounter -Port $port) }
        )
        foreach ($view in $views) {
            $text = $view.Objects | Format-Table | Out-String -Width 200
            $lines = $text -split "`n" | Where-Object { $_.Trim() }
            foreach ($line in $lines) { $line.TrimEnd().Length | Should -BeLessOrEqual 80 -Because $line }
            $names = $view.Objects[0].PSObject.Properties.Name
            $header = $lines | Where-Object { $_ -match '^\s*-+(\s+-+)*\s*$' } | Select-Object -First 1
            $headerLine = $lines[[array]::IndexOf($lines, $header) - 1]
            foreach ($label in -split $headerLine) {
                ($label -in $names -or "$($label.TrimEnd('s'))Count" -in $names) | Should -BeTrue -Because "header $label maps to a property"
            }
        }
        (Get-Balance -Port $port | Format-Table | Out-String) | Should -Match '\b\d\d:\d\d:\d\d\s'
    }

    It 'runs shell commands from a string array and from the pipeline' {
        Invoke-BalanceCommand 'group 1', 'rr' -Port $port | Should -Be 'group 1 set to round robin'
        ('show' | Invoke-BalanceCommand -Port $port | Out-String) | Should -Match "127\.0\.0\.1 +$backendA "
    }

    It 'reports a refused shell command as a non-terminating error' {
        Invoke-BalanceCommand 'disable 99' -Port $port -ErrorVariable refused -ErrorAction SilentlyContinue
        $? | Should -BeFalse
        $refused[0].FullyQualifiedErrorId | Should -Be 'ShellCommandFailed,Balance.PowerShell.InvokeBalanceCommandCommand'
        $refused[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        { Invoke-BalanceCommand 'disable 99' -Port $port -ErrorAction Stop } | Should -Throw '*no such channel 99*'
    }

    It 'names the instance that holds the endpoint when a start conflicts' {
        { Start-Balance -Port $port -Channel '127.0.0.1:9' -ErrorAction Stop } |
            Should -Throw -ErrorId 'AlreadyRunning,Balance.PowerShell.StartBalanceCommand' -ExpectedMessage "*127.0.0.1:$port (process $PID)*"
    }

    It 'reads the events of the job through Get-BalanceEvent' {
        # Group 0 out of the way, a request reaches 127.0.0.1:9, where nothing listens: -AutoDisable records it.
        Get-BalanceChannel -Port $port -Group 0 | Disable-BalanceChannel
        try { $null = Send-Request $port } catch { }
        $deadline = [DateTime]::UtcNow.AddSeconds(20)
        do {
            $events = @(Get-BalanceEvent -Port $port | Where-Object Kind -eq 'AutoDisabled')
            if ($events) { break }
            Start-Sleep -Milliseconds 100
        } while ([DateTime]::UtcNow -lt $deadline)
        Get-BalanceChannel -Port $port -Group 0 | Enable-BalanceChannel
        $events | Should -Not -BeNullOrEmpty
        $events[0].Port | Should -Be $port
        $events[0].Group | Should -Be 1
        @(Get-BalanceEvent -Port $port -Wait -Timeout 1 | Where-Object Kind -eq 'AutoDisabled').Count | Should -Be $events.Count
    }

    It 'stops with Stop-Balance -PassThru, returning the final state, and the job completes' {
        $final = Stop-Balance -Port $port -Confirm:$false -PassThru
        $final.State | Should -Be 'Stopped'
        $null = Wait-Job $job -Timeout 20
        $job.State | Should -Be 'Completed'
        { Get-Balance -Port $port -ErrorAction Stop } | Should -Throw -ErrorId 'InstanceNotFound,Balance.PowerShell.GetBalanceCommand'
    }
}

Describe 'Restart-Balance' {
    BeforeAll {
        $port = Get-FreePort
        $backend = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $backend.Start()
        $backendPort = $backend.LocalEndpoint.Port
    }

    AfterAll {
        Stop-Everything $port
        $backend.Stop()
    }

    It 'replaces a job of the session: a new job runs the engine, the old one completes, the channels stay as they were' -Skip:(-not $IsLinux) {
        $old = Start-Balance -Port $port -BindAddress 127.0.0.1 -Channel "127.0.0.1:$backendPort", "127.0.0.1:$backendPort"
        Get-BalanceChannel -Port $port -Index 1 | Disable-BalanceChannel
        $new = $old | Restart-Balance -PassThru
        $new.Id | Should -Not -Be $old.Id
        $new.State | Should -Be 'Running'
        $null = Wait-Job $old -Timeout 20
        $old.State | Should -Be 'Completed'
        (Get-BalanceChannel -Port $port).AdminState | Should -Be @('Enabled', 'Disabled')
        (Get-Balance -Port $port).ProcessId | Should -Be $PID
    }

    It 'reports an unknown instance as InstanceNotFound' {
        $free = Get-FreePort
        { Restart-Balance -Port $free -ErrorAction Stop } | Should -Throw -ErrorId 'InstanceNotFound,Balance.PowerShell.RestartBalanceCommand'
    }
}

Describe 'Instances sharing a port' {
    BeforeAll {
        $port = Get-FreePort
        $v4 = Start-Balance -Port $port -BindAddress 127.0.0.1 -Channel 127.0.0.1:9
        $v6 = Start-Balance -Port $port -BindAddress ::1 -Channel 127.0.0.1:9
    }

    AfterAll {
        $v4, $v6 | Remove-Job -Force -ErrorAction SilentlyContinue
    }

    It 'gives the jobs different names' {
        $v4.Name | Should -Not -Be $v6.Name
    }

    It 'Get-<_> returns both instances instead of an ambiguity' -ForEach 'Balance', 'BalanceGroup', 'BalanceChannel', 'BalanceCounter', 'BalanceEvent' {
        # -ErrorAction Stop turns the old AmbiguousInstance into a failure; the rings of new instances may be empty.
        $results = & "Get-$_" -Port $port -ErrorAction Stop
        if ($_ -ne 'BalanceEvent') { @($results.BindAddress | Sort-Object -Unique) | Should -Be (@('127.0.0.1', '::1') | Sort-Object) }
    }

    It 'still asks for -BindAddress before changing one of them' {
        { Disable-BalanceChannel -Port $port -Index 0 -ErrorAction Stop } |
            Should -Throw -ErrorId 'AmbiguousInstance,Balance.PowerShell.DisableBalanceChannelCommand'
    }
}

Describe 'Fleet recipe (docs/fleet.md)' {
    BeforeDiscovery {
        $doc = Get-Content -Raw (Join-Path $PSScriptRoot '..' '..' 'docs' 'fleet.md')
        $local = [regex]::Match($doc, '<!-- fleet recipe: local[^>]*-->\s*```powershell\r?\n(?<code>.*?)```', 'Singleline').Groups['code'].Value
    }

    BeforeAll {
        # A segment directory of its own: Get-Balance in the recipe then sees these two instances
        # only, as a node sees its own, whatever else runs on this machine.
        $segments = Join-Path ([System.IO.Path]::GetTempPath()) "balance-fleet-$([guid]::NewGuid().ToString('N'))"
        $null = New-Item -ItemType Directory -Path $segments
        [System.IO.File]::SetUnixFileMode($segments, [System.IO.UnixFileMode] 'UserRead, UserWrite, UserExecute')
        $savedSegments = $env:BALANCE_SEGMENT_DIR
        $env:BALANCE_SEGMENT_DIR = $segments

        # Back-ends that never answer: the kernel completes their connects, so sessions stay open until closed.
        $backends = 1..2 | ForEach-Object { $l = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0); $l.Start(); $l }
        $ports = 1..2 | ForEach-Object { Get-FreePort }
        $jobs = foreach ($p in $ports) {
            Start-Balance -Port $p -BindAddress 127.0.0.1 -Workers 1 -Channel ($backends | ForEach-Object { "127.0.0.1:$($_.LocalEndpoint.Port)" })
        }
    }

    AfterAll {
        $jobs | Remove-Job -Force -ErrorAction SilentlyContinue
        $backends | ForEach-Object Stop
        $env:BALANCE_SEGMENT_DIR = $savedSegments
        Remove-Item -LiteralPath $segments -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'finds the local recipe on the page' -ForEach @{ Code = $local } {
        $Code | Should -Match 'Wait-BalanceChannel'
    }

    It 'moves channel 1 on every instance only after every one of them is empty' -ForEach @{ Code = $local } {
        # Two clients per instance: round robin puts one on each channel, so channel 1 has a live session everywhere.
        $clients = foreach ($p in $ports) { 1..2 | ForEach-Object { [System.Net.Sockets.TcpClient]::new('127.0.0.1', $p) } }
        $deadline = [DateTime]::UtcNow.AddSeconds(20)
        while (@(Get-BalanceChannel -Port $ports -Group 0 -Index 1 | Where-Object Connections -eq 1).Count -lt 2) {
            if ([DateTime]::UtcNow -gt $deadline) { throw 'the sessions did not reach channel 1 of both instances' }
            Start-Sleep -Milliseconds 50
        }
        # The sessions end as a client and its back-end both close (a half-closed session lives on).
        $closer = Start-ThreadJob {
            Start-Sleep -Seconds 1.5
            $using:clients | ForEach-Object Dispose
            foreach ($l in $using:backends) { while ($l.Pending()) { $l.AcceptTcpClient().Dispose() } }
        }
        try {
            $ErrorActionPreference = 'Stop'
            $watch = [System.Diagnostics.Stopwatch]::StartNew()
            $moved = & ([scriptblock]::Create($Code))
            $watch.Stop()
        }
        finally { $closer | Wait-Job | Remove-Job }

        $watch.Elapsed.TotalSeconds | Should -BeGreaterThan 1.2 -Because 'the recipe waits for the sessions'
        @($moved).Count | Should -Be 2
        ($moved.Port | Sort-Object) | Should -Be ($ports | Sort-Object)
        foreach ($channel in Get-BalanceChannel -Port $ports -Group 0 -Index 1) {
            $channel.Destination | Should -Be '192.0.2.20:80'
            $channel.AdminState | Should -Be 'Enabled'
        }
        (Get-BalanceChannel -Port $ports -Group 0 -Index 0).Destination | Should -Not -Contain '192.0.2.20:80'
    }
}

Describe 'A detached instance' {
    BeforeAll {
        $port = Get-FreePort
        $instance = Start-Balance -Port $port -BindAddress 127.0.0.1 -Channel '127.0.0.1:9', '127.0.0.1:10' -AutoDisable -Detached
    }

    AfterAll {
        Stop-Balance -Port $port -Confirm:$false -ErrorAction SilentlyContinue
    }

    It 'runs in a process of its own' {
        $instance.ProcessId | Should -Not -Be $PID
        (Get-Balance -Port $port).State | Should -Be 'Running'
    }

    It 'writes events that Get-BalanceEvent reads' {
        # Nothing listens on ports 9 and 10: the connects fail and -AutoDisable records the channels.
        try { Send-Request $port } catch { }
        $deadline = [DateTime]::UtcNow.AddSeconds(20)
        do {
            $events = @(Get-BalanceEvent -Port $port)
            if ($events.Count -gt 0) { break }
            Start-Sleep -Milliseconds 200
        } while ([DateTime]::UtcNow -lt $deadline)
        $events.Count | Should -BeGreaterThan 0
        $events[0].Port | Should -Be $port
    }

    It 'follows the events with -Wait until the instance stops' {
        $follow = Start-ThreadJob { param($m, $p) Import-Module $m; Get-BalanceEvent -Port $p -Wait } -ArgumentList (Join-Path $repo 'Balance.psd1'), $port
        Start-Sleep -Seconds 1
        $follow.State | Should -Be 'Running'
        Stop-Balance -Port $port -Confirm:$false
        $null = Wait-Job $follow -Timeout 20
        $follow.State | Should -Be 'Completed'
        @(Receive-Job $follow).Count | Should -BeGreaterThan 0
    }
}

Describe 'A layout that survives (docs/layout-file.md)' {
    BeforeAll {
        $folder = Join-Path ([System.IO.Path]::GetTempPath()) "balance-layout-$([guid]::NewGuid().ToString('N'))"
        $null = New-Item -ItemType Directory -Path $folder
        $port = Get-FreePort
        $null = Start-Balance -Port $port -BindAddress 127.0.0.1 -Name "layout$port" -Group @(
            New-BalanceGroup -Channel '127.0.0.1:9101', '127.0.0.1:9102:4' -Type RoundRobin
            New-BalanceGroup -Channel '127.0.0.1:9103' -Type Hash
            New-BalanceGroup -Channel '127.0.0.1:9104:0:3', '127.0.0.1:9105' -Type WeightedRoundRobin
            New-BalanceGroup -Channel '127.0.0.1:9106' -Type LeastConnections
            New-BalanceGroup -Channel '127.0.0.1:9107:0:0', '127.0.0.1:9108:0:256' -Type Maglev
        )
        Disable-BalanceChannel -Port $port -Group 0 -Index 1 -Confirm:$false
        Disable-BalanceChannel -Port $port -Group 2 -Index 0 -Drain -Confirm:$false
        Invoke-BalanceCommand -Port $port 'group 3; check 0 interval 500 rise 4 fall 5 port 8443' | Out-Null

        # The records of a layout file, its comments left out.
        function Get-LayoutBody([string] $Path) { (Get-Content -LiteralPath $Path | Where-Object { $_ -notmatch '^\s*#' }) -join "`n" }
    }

    AfterAll {
        Stop-Everything $port
        Remove-Item -LiteralPath $folder -Recurse -Force -ErrorAction SilentlyContinue
    }

    It 'saves every policy, state, weight and check setting, and a start from the file has the same layout' {
        $file = Save-BalanceLayout -Port $port -Path (Join-Path $folder 'first.layout') -PassThru
        $file | Should -BeOfType ([System.IO.FileInfo])
        $text = Get-Content -Raw -LiteralPath $file.FullName
        $text | Should -Match '(?m)^balance-layout 1$'
        $text | Should -Match '(?m)^channel 127\.0\.0\.1:9102 maxc 4 weight 1 disabled$'
        $text | Should -Match '(?m)^channel 127\.0\.0\.1:9104 maxc 0 weight 3 draining$'
        $text | Should -Match '(?m)^channel 127\.0\.0\.1:9106 maxc 0 weight 1 enabled check-interval 500 check-rise 4 check-fall 5 check-port 8443$'
        $text | Should -Match '(?m)^group 4 maglev$'
        if (-not $IsWindows) { [System.IO.File]::GetUnixFileMode($file.FullName) | Should -Be ([System.IO.UnixFileMode] 'UserRead, UserWrite') }

        $second = Get-FreePort
        try {
            $null = Start-Balance -Port $second -BindAddress 127.0.0.1 -LayoutPath $file.FullName -Name "layout$second"
            Save-BalanceLayout -Port $second -Path (Join-Path $folder 'second.layout')
            Get-LayoutBody (Join-Path $folder 'second.layout') | Should -Be (Get-LayoutBody $file.FullName)
            (Get-BalanceChannel -Port $second -Group 2 -Index 0).AdminState | Should -Be 'Draining'
        }
        finally { Stop-Balance -Port $second -Confirm:$false -ErrorAction SilentlyContinue }
    }

    It 'binds the instance by property name and writes one file per instance into a folder' {
        $into = Join-Path $folder 'all'
        $null = New-Item -ItemType Directory -Path $into
        $files = @(Get-Balance -Port $port | Save-BalanceLayout -Path $into -PassThru)
        $files.Count | Should -Be 1
        $files[0].Name | Should -Be "balance-$port-127.0.0.1.layout"
    }

    It 'writes nothing with -WhatIf' {
        $path = Join-Path $folder 'whatif.layout'
        Save-BalanceLayout -Port $port -Path $path -WhatIf -ErrorAction Stop
        Test-Path -LiteralPath $path | Should -BeFalse
    }

    It 'keeps an existing file with -NoClobber and a read-only one without -Force' {
        $path = Join-Path $folder 'kept.layout'
        Set-Content -LiteralPath $path -Value 'mine'
        { Save-BalanceLayout -Port $port -Path $path -NoClobber -ErrorAction Stop } |
            Should -Throw -ErrorId 'LayoutFileExists,Balance.PowerShell.SaveBalanceLayoutCommand'
        Get-Content -LiteralPath $path | Should -Be 'mine'
        if ($IsWindows) { Set-ItemProperty -LiteralPath $path -Name IsReadOnly -Value $true } else { [System.IO.File]::SetUnixFileMode($path, 'UserRead') }
        { Save-BalanceLayout -Port $port -Path $path -ErrorAction Stop } |
            Should -Throw -ErrorId 'LayoutFileReadOnly,Balance.PowerShell.SaveBalanceLayoutCommand'
        Save-BalanceLayout -Port $port -Path $path -Force
        (Get-Content -LiteralPath $path)[0] | Should -Be 'balance-layout 1'
    }

    It 'reports a folder that does not exist as SaveFailed' {
        { Save-BalanceLayout -Port $port -Path (Join-Path $folder 'no' 'such.layout') -ErrorAction Stop } |
            Should -Throw -ErrorId 'SaveFailed,Balance.PowerShell.SaveBalanceLayoutCommand'
    }

    It 'refuses a <Kind> file with its line, and nothing starts' -ForEach @(
        @{ Kind = 'newer'; Text = "balance-layout 2`ngroup 0 rr`nchannel 127.0.0.1:9101`nend 1 channels`n"; Line = 1 }
        @{ Kind = 'truncated'; Text = "balance-layout 1`ngroup 0 rr`nchannel 127.0.0.1:9101 maxc 0 weight 1 enabled`nchannel 127.0.0.1:9102 ma"; Line = 4 }
        @{ Kind = 'hand-edited'; Text = "balance-layout 1`ngroup 0 rr`nchannel 127.0.0.1:9101 wieght 2`nend 1 channels`n"; Line = 3 }
        @{ Kind = 'out-of-range'; Text = "balance-layout 1`ngroup 0 rr`nchannel 127.0.0.1:9101 weight 257`nend 1 channels`n"; Line = 3 }
    ) {
        $path = Join-Path $folder "$Kind.layout"
        Set-Content -LiteralPath $path -Value $Text -NoNewline
        $other = Get-FreePort
        $failure = $null
        try { Start-Balance -Port $other -BindAddress 127.0.0.1 -LayoutPath $path -ErrorAction Stop } catch { $failure = $_ }
        $failure.FullyQualifiedErrorId | Should -Be 'InvalidLayoutFile,Balance.PowerShell.StartBalanceCommand'
        $failure.CategoryInfo.Category | Should -Be 'InvalidData'
        $failure.Exception.Message | Should -BeLike "layout file $path line $($Line): *"
        Get-Balance -Port $other -ErrorAction SilentlyContinue | Should -BeNullOrEmpty
    }

    It 'keeps a state file current and starts from it the next time' {
        $state = Join-Path $folder 'live.state'
        $other = Get-FreePort
        try {
            $null = Start-Balance -Port $other -BindAddress 127.0.0.1 -Channel '127.0.0.1:9101', '127.0.0.1:9102' -StateFile $state
            Set-BalanceChannel -Port $other -Index 1 -Weight 7 -Confirm:$false
            $deadline = [DateTime]::UtcNow.AddSeconds(10)
            while (-not ((Test-Path $state) -and (Get-Content -Raw $state) -match 'weight 7') -and [DateTime]::UtcNow -lt $deadline) { Start-Sleep -Milliseconds 100 }
            Get-Content -Raw $state | Should -Match '(?m)^channel 127\.0\.0\.1:9102 maxc 0 weight 7 enabled$'
            Stop-Balance -Port $other -Confirm:$false
            $null = Start-Balance -Port $other -BindAddress 127.0.0.1 -Channel '127.0.0.1:9999' -StateFile $state
            (Get-BalanceChannel -Port $other).Destination | Should -Be '127.0.0.1:9101', '127.0.0.1:9102'
        }
        finally { Stop-Balance -Port $other -Confirm:$false -ErrorAction SilentlyContinue }
    }
}

Describe 'Errors by id' {
    It 'reports a missing instance as InstanceNotFound' {
        { Get-BalanceChannel -Port (Get-FreePort) -ErrorAction Stop } |
            Should -Throw -ErrorId 'InstanceNotFound,Balance.PowerShell.GetBalanceChannelCommand'
    }

    It 'rejects a bad channel word before starting' {
        { Start-Balance -Port (Get-FreePort) -Channel 'host:notaport' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConfiguration,Balance.PowerShell.StartBalanceCommand'
    }

    It 'rejects group separators in New-BalanceGroup' {
        { New-BalanceGroup -Channel 'a:80', '!', 'b:80' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidChannelList,Balance.PowerShell.NewBalanceGroupCommand'
    }

    It 'names the path the user gave when an export fails' {
        $port = Get-FreePort
        $job = Start-Balance -Port $port -BindAddress 127.0.0.1 -Channel 127.0.0.1:9
        try {
            $path = Join-Path ([System.IO.Path]::GetTempPath()) "no-such-folder-$PID" 'counters.json'
            { Export-BalanceCounter -Port $port -Path $path -Format Json -ErrorAction Stop } |
                Should -Throw -ErrorId 'ExportFailed,Balance.PowerShell.ExportBalanceCounterCommand' -ExpectedMessage "*$path*"
            $Error[0].Exception.Message | Should -Not -Match '\.tmp'
        }
        finally { $job | Remove-Job -Force }
    }
}

Describe 'Package and install like a gallery module' {
    It 'publishes to a folder repository, installs with Install-PSResource and starts an instance' {
        $work = Join-Path ([System.IO.Path]::GetTempPath()) "balance-gallery-$([guid]::NewGuid().ToString('N'))"
        $null = New-Item -ItemType Directory -Path $work
        try {
            $pwsh = Get-PwshCommand
            & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $repo 'build.ps1') -Task Package -NoBuild -OutputPath (Join-Path $work 'out') | Out-Null
            $LASTEXITCODE | Should -Be 0
            $nupkg = Get-ChildItem (Join-Path $work 'out' 'packages') -Filter 'Balance.*.nupkg'
            $nupkg | Should -HaveCount 1
            $port = Get-FreePort
            # A separate HOME gives the child its own repository list and CurrentUser module path.
            $script = @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name LocalBalance -Uri '$(Join-Path $work 'out' 'packages')' -Trusted
Install-PSResource -Name Balance -Repository LocalBalance -Scope CurrentUser -TrustRepository
Import-Module Balance
`$job = Start-Balance -Port $port -BindAddress 127.0.0.1 -Channel 127.0.0.1:9
(Get-Balance -Port $port).State
(Get-Module Balance).ModuleBase
(Get-Help about_Balance | Out-String).Contains('SHORT DESCRIPTION')
(Get-ChildItem -Recurse -File (Get-Module Balance).ModuleBase | ForEach-Object Name | Sort-Object) -join ','
`$job | Remove-Job -Force
"@
            $saved = $env:HOME
            try {
                $env:HOME = $work
                $output = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command $script 2>&1
            }
            finally { $env:HOME = $saved }
            $LASTEXITCODE | Should -Be 0 -Because ($output | Out-String)
            $output[0] | Should -Be 'Running'
            "$($output[1])" | Should -BeLike "$work*"
            "$($output[2])" | Should -Be 'True'
            $files = "$($output[3])" -split ','
            foreach ($file in 'Balance.psd1', 'Balance.PowerShell.dll', 'Balance.format.ps1xml', 'balance.dll', 'balance.runtimeconfig.json', 'Balance.PowerShell.dll-Help.xml', 'about_Balance.help.txt') {
                $files | Should -Contain $file
            }
        }
        finally {
            Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
        }
    }

    It 'installs into the current user''s module path with build.ps1 -Task Install, for any new session' {
        $work = Join-Path ([System.IO.Path]::GetTempPath()) "balance-install-$([guid]::NewGuid().ToString('N'))"
        $null = New-Item -ItemType Directory -Path $work
        $saved = $env:HOME
        try {
            # A separate HOME is the current user's module path for the children, and nothing else moves.
            $env:HOME = $work
            $pwsh = Get-PwshCommand
            & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $repo 'build.ps1') -Task Install -NoBuild -OutputPath (Join-Path $work 'out') | Out-Null
            $LASTEXITCODE | Should -Be 0
            $output = & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -Command 'Import-Module Balance -ErrorAction Stop; (Get-Module Balance).ModuleBase; (Get-Command -Module Balance).Count'
            $LASTEXITCODE | Should -Be 0
            "$($output[0])" | Should -BeLike "$work*"
            $output[1] | Should -Be 19
        }
        finally {
            $env:HOME = $saved
            Remove-Item -LiteralPath $work -Recurse -Force -ErrorAction SilentlyContinue
        }
    }

    It 'has a manifest without placeholder links' {
        # No public project page or licence exists yet: the manifest names none rather than invent one.
        $manifest = Import-PowerShellDataFile (Join-Path $repo 'Balance.psd1')
        $manifest.PrivateData.PSData.Keys | Should -Not -Contain 'ProjectUri'
        (Test-ModuleManifest (Join-Path $repo 'Balance.psd1')).Version | Should -Be $manifest.ModuleVersion
    }
}
