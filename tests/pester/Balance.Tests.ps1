#Requires -Version 7.6
<#
    Pester 5 suite for the Balance module, for machines that have Pester:
        Invoke-Pester ./tests/pester
    Build first (dotnet build, or ./build.ps1). CI runs the same scenarios through xunit
    (tests/Balance.PowerShell.Tests), which hosts the PowerShell engine in-process.
#>

BeforeAll {
    $repo = (Resolve-Path (Join-Path $PSScriptRoot '..' '..')).Path
    Import-Module (Join-Path $repo 'Balance.psd1') -Force -ErrorAction Stop

    function Get-FreePort {
        $listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, 0)
        $listener.Start()
        try { $listener.LocalEndpoint.Port } finally { $listener.Stop() }
    }
}

AfterAll {
    Get-Job | Where-Object PSJobTypeName -eq 'BalanceJob' | Remove-Job -Force
    Remove-Module Balance -ErrorAction SilentlyContinue
}

Describe 'Module contract' {
    It 'exports exactly the cmdlets of the manifest, with approved verbs and the Balance noun prefix' {
        $commands = Get-Command -Module Balance
        $commands.Count | Should -Be 15
        $verbs = (Get-Verb).Verb
        foreach ($command in $commands) {
            $command.Verb | Should -BeIn $verbs
            $command.Noun | Should -BeLike 'Balance*'
        }
    }

    It 'has help for <_>' -ForEach @(Get-Command -Module Balance | ForEach-Object Name) {
        $help = Get-Help $_ -Full
        $help.Synopsis | Should -Not -BeLike "$_*"
        @($help.Examples.Example).Count | Should -BeGreaterThan 0
    }
}

Describe 'New-BalanceGroup' {
    It 'describes a group' {
        $group = New-BalanceGroup -Channel 'a:80', 'b:80:5' -Type Hash
        $group | Should -BeOfType ([Balance.PowerShell.BalanceGroupSpec])
        $group.Type | Should -Be 'Hash'
    }

    It 'rejects group separators' {
        { New-BalanceGroup -Channel 'a:80', '!', 'b:80' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidChannelList,Balance.PowerShell.NewBalanceGroupCommand'
    }
}

Describe 'Errors' {
    It 'reports a missing instance as InstanceNotFound' {
        { Get-BalanceChannel -Port (Get-FreePort) -ErrorAction Stop } |
            Should -Throw -ErrorId 'InstanceNotFound,Balance.PowerShell.GetBalanceChannelCommand'
    }

    It 'rejects a bad channel word before starting' {
        { Start-Balance -Port (Get-FreePort) -Channel 'host:notaport' -ErrorAction Stop } |
            Should -Throw -ErrorId 'InvalidConfiguration,Balance.PowerShell.StartBalanceCommand'
    }
}

Describe 'A Balance job' {
    BeforeAll {
        $port = Get-FreePort
        $job = Start-Balance -Port $port -Channel '127.0.0.1:9', '127.0.0.1:10', '!', '127.0.0.1:11' -BindAddress 127.0.0.1 -Name "pester$port"
    }

    AfterAll {
        $job | Remove-Job -Force
    }

    It 'is a running BalanceJob that Get-Job finds' {
        $job.PSJobTypeName | Should -Be 'BalanceJob'
        (Get-Job -Name "pester$port").InstanceId | Should -Be $job.InstanceId
        (Get-Job -Id $job.Id).State | Should -Be 'Running'
        $job.Location | Should -Be "127.0.0.1:$port"
    }

    It 'shows its channels' {
        $channels = Get-BalanceChannel -Port $port
        $channels.Count | Should -Be 3
        $channels[2].Group | Should -Be 1
    }

    It 'disables and enables channels through the pipeline' {
        Get-BalanceChannel -Port $port -Group 0 | Disable-BalanceChannel
        (Get-BalanceChannel -Port $port -Group 0).Enabled | Should -Not -Contain $true
        [pscustomobject]@{ Port = $port; Group = 0; Index = 1 } | Enable-BalanceChannel
        (Get-BalanceChannel -Port $port -Group 0 -Index 1).Enabled | Should -BeTrue
    }

    It 'changes nothing with -WhatIf' {
        Disable-BalanceChannel -Port $port -Group 0 -Index 1 -WhatIf
        (Get-BalanceChannel -Port $port -Group 0 -Index 1).Enabled | Should -BeTrue
    }

    It 'stops with Stop-Job' {
        $job | Stop-Job
        $job.State | Should -Be 'Stopped'
        { Get-Balance -Port $port -ErrorAction Stop } | Should -Throw -ErrorId 'InstanceNotFound,Balance.PowerShell.GetBalanceCommand'
    }
}
