<#
.SYNOPSIS
Builds, tests, packages and installs Balance and its PowerShell module.

.DESCRIPTION
Runs under `dotnet pwsh` (the local tool pinned in .config/dotnet-tools.json: `dotnet tool restore`
first). Tasks, run in the order given:
  Build    dotnet build of the solution (lays the module out in Balance.PowerShell/bin/Module).
  Test     every test: the xunit suites (dotnet test; the process tests once more against the
           native published executable) and the Pester suite (tests/pester, Pester
           5.7.1 fetched by build/PesterDownload.csproj). Prints each suite's counts and fails when
           a test fails or Pester discovers fewer than MinimumPesterTests tests.
  Package  the module folder <OutputPath>/Balance (flat manifest, format, en-US help, the engine)
           and its gallery package <OutputPath>/packages/Balance.<version>.nupkg, which
           Install-PSResource installs from a folder repository (docs/install.md).
  Install  the packaged module into the current user's module path, so `Import-Module Balance`
           works in any new session.
  Demo     two local demo back-ends and a detached balancer in front of them; prints how to reach
           and control it (Stop-Balance stops the balancer, -DemoSeconds bounds the back-ends).

.EXAMPLE
dotnet pwsh ./build.ps1 -Task Install,Demo

.EXAMPLE
dotnet pwsh ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    # Build, Test, Package, Install, Demo: a list, or one comma-separated word (as bash passes `Install,Demo`).
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release',

    # Where Package puts the Balance module folder and the packages folder.
    [string] $OutputPath = [System.IO.Path]::Combine($PSScriptRoot, 'out'),

    # Package from the current bin/Module without building first.
    [switch] $NoBuild,

    # Demo: the balancer's listen port (the back-ends take the next two).
    [ValidateRange(1, 65533)]
    [int] $DemoPort = 8080,

    # Demo: seconds the demo back-ends answer before they exit; 0 = until this script is stopped.
    [ValidateRange(0, 86400)]
    [int] $DemoSeconds = 0
)

$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot

# From bash, `-Task Install,Demo` arrives as one string: split it, then check every name.
$tasks = @('Build', 'Test', 'Package', 'Install', 'Demo')
$Task = @($Task -split ',' | ForEach-Object Trim | Where-Object { $_ })
foreach ($name in $Task) {
    if ($name -notin $tasks) {
        throw "build.ps1: unknown task '$name'; the tasks are $($tasks -join ', ') (several: -Task Install,Demo)"
    }
}
$moduleSource = [System.IO.Path]::Combine($root, 'Balance.PowerShell', 'bin', 'Module')

# Fewer discovered Pester tests than this means a block silently stopped producing tests.
$MinimumPesterTests = 189

function Invoke-Dotnet {
    param([string[]] $Arguments)
    & dotnet @Arguments | Out-Host
    if ($LASTEXITCODE -ne 0) {
        throw "dotnet $($Arguments -join ' ') failed with exit code $LASTEXITCODE"
    }
}

function Invoke-Build {
    Invoke-Dotnet @('build', [System.IO.Path]::Combine($root, 'Balance.sln'), '--configuration', $Configuration, '--nologo')
}

function Get-PesterManifest {
    $props = [xml][System.IO.File]::ReadAllText([System.IO.Path]::Combine($root, 'Directory.Packages.props'))
    $version = $props.Project.PropertyGroup.PesterVersion | Where-Object { $_ } | Select-Object -First 1
    Invoke-Dotnet @('restore', [System.IO.Path]::Combine($root, 'build', 'PesterDownload.csproj'), '--nologo', '--verbosity', 'quiet')
    $packages = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { [System.IO.Path]::Combine([Environment]::GetFolderPath('UserProfile'), '.nuget', 'packages') }
    $manifest = [System.IO.Path]::Combine($packages, 'pester', $version, 'tools', 'Pester.psd1')
    if (-not [System.IO.File]::Exists($manifest)) {
        throw "Pester $version was restored but $manifest is missing; clear the package cache entry (dotnet nuget locals global-packages --clear) and retry"
    }
    $manifest
}

# One dotnet test run: its output goes through, its summary lines are added up.
function Invoke-DotnetTest([string[]] $Arguments) {
    $lines = [System.Collections.Generic.List[string]]::new()
    & dotnet test @Arguments --configuration $Configuration --nologo 2>&1 |
        ForEach-Object { $lines.Add("$_"); "$_" } | Out-Host
    $result = @{ Passed = 0; Failed = 0; Skipped = 0; Exit = $LASTEXITCODE }
    foreach ($line in $lines) {
        foreach ($name in @('Passed', 'Failed', 'Skipped')) {
            if ($line -match "\b${name}:\s+(\d+)") { $result[$name] += [int] $Matches[1] }
        }
    }
    $result
}

function Invoke-Test {
    $count = Invoke-DotnetTest @([System.IO.Path]::Combine($root, 'Balance.sln'))
    $xunitExit = $count.Exit

    # The executable users get is the native (AOT) publish: the tests that run `balance` as a
    # process run once more against it, so a trimming or AOT difference cannot hide.
    $native = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "balance-native-$PID")
    & dotnet publish ([System.IO.Path]::Combine($root, 'Balance.Engine')) --configuration $Configuration --nologo -o $native | Out-Host
    if ($LASTEXITCODE -ne 0) { throw "dotnet publish of the native balance executable failed (output above)" }
    $env:BALANCE_TEST_EXECUTABLE = [System.IO.Path]::Combine($native, 'balance')
    try {
        $processTests = Invoke-DotnetTest @(
            [System.IO.Path]::Combine($root, 'tests', 'Balance.Engine.Tests'), '--no-build',
            '--filter', 'FullyQualifiedName~ProcessTests|FullyQualifiedName~SegmentFileSecurityTests|FullyQualifiedName~ProcessFaultTests|FullyQualifiedName~LoadTests')
    }
    finally {
        Remove-Item Env:BALANCE_TEST_EXECUTABLE
        Remove-Item -Recurse -Force $native -ErrorAction SilentlyContinue
    }
    Write-Host "native executable: $($processTests.Passed) passed, $($processTests.Failed) failed, $($processTests.Skipped) skipped"
    foreach ($name in @('Passed', 'Failed', 'Skipped')) { $count[$name] += $processTests[$name] }
    if ($xunitExit -eq 0) { $xunitExit = $processTests.Exit }

    Write-Host "xunit: $($count.Passed) passed, $($count.Failed) failed, $($count.Skipped) skipped"

    # Pester in a child pwsh, so the suite imports the module the way a user's session does.
    $pester = Get-PesterManifest
    $resultFile = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "balance-pester-$PID.json")
    $pwsh = Get-PwshCommand
    $suite = [System.IO.Path]::Combine($root, 'tests', 'pester', 'Invoke-Suite.ps1')
    & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File $suite -Pester $pester -ResultFile $resultFile | Out-Host
    if (-not [System.IO.File]::Exists($resultFile)) {
        throw "Pester did not finish (exit code $LASTEXITCODE); see its output above"
    }
    $p = [System.IO.File]::ReadAllText($resultFile) | ConvertFrom-Json
    [System.IO.File]::Delete($resultFile)

    Write-Host "pester: $($p.Passed) passed, $($p.Failed) failed, $($p.Skipped) skipped ($($p.Discovered) discovered, at least $MinimumPesterTests expected)"
    $problems = @()
    if ($xunitExit -ne 0) { $problems += "dotnet test exited with $xunitExit" }
    if ($p.Failed -gt 0) { $problems += "$($p.Failed) Pester test(s) or block(s) failed" }
    if ($p.Discovered -lt $MinimumPesterTests) { $problems += "Pester discovered $($p.Discovered) tests, fewer than the $MinimumPesterTests expected: a block stopped producing tests" }
    if ($problems) {
        throw ($problems -join '; ')
    }
}

# The pwsh running this script, as a command line: under `dotnet pwsh` that is dotnet and pwsh.dll.
function Get-PwshCommand {
    $process = [Environment]::ProcessPath
    if ([System.IO.Path]::GetFileNameWithoutExtension($process) -eq 'dotnet') {
        return @($process, [System.IO.Path]::Combine($PSHOME, 'pwsh.dll'))
    }
    @($process)
}

function Get-ModuleVersion {
    (Import-PowerShellDataFile ([System.IO.Path]::Combine($root, 'Balance.psd1'))).ModuleVersion
}

function Invoke-Package {
    if (-not $NoBuild) {
        Invoke-Build
    }

    $target = [System.IO.Path]::Combine($OutputPath, 'Balance')
    if ([System.IO.Directory]::Exists($target)) {
        [System.IO.Directory]::Delete($target, $true)
    }

    $null = [System.IO.Directory]::CreateDirectory([System.IO.Path]::Combine($target, 'en-US'))

    # An explicit list: the module ships what it needs, never a whole bin folder.
    $files = @(
        'Balance.PowerShell.dll', 'Balance.format.ps1xml',
        'balance.dll', 'balance.runtimeconfig.json', 'balance.deps.json', 'balance', 'balance.exe'
    )
    foreach ($file in $files) {
        $source = [System.IO.Path]::Combine($moduleSource, $file)
        if ([System.IO.File]::Exists($source)) {
            [System.IO.File]::Copy($source, ([System.IO.Path]::Combine($target, $file)), $true)
        }
        elseif ($file -notin @('balance', 'balance.exe')) {
            throw "$source is missing; build first (dotnet pwsh ./build.ps1 -Task Build)"
        }
    }

    foreach ($help in @('Balance.PowerShell.dll-Help.xml', 'about_Balance.help.txt')) {
        [System.IO.File]::Copy([System.IO.Path]::Combine($moduleSource, 'en-US', $help), [System.IO.Path]::Combine($target, 'en-US', $help), $true)
    }

    # The published manifest is the repository's with the paths made flat: one source for both.
    $manifest = [System.IO.File]::ReadAllText([System.IO.Path]::Combine($root, 'Balance.psd1'))
    $nested = "NestedModules        = @('Balance.PowerShell/bin/Module/Balance.PowerShell.dll')"
    if (-not $manifest.Contains($nested)) {
        throw "Balance.psd1 no longer has the line this script rewrites: $nested"
    }

    $manifest = $manifest.Replace($nested, "RootModule           = 'Balance.PowerShell.dll'")
    $manifest = $manifest.Replace("'Balance.PowerShell/bin/Module/Balance.format.ps1xml'", "'Balance.format.ps1xml'")
    [System.IO.File]::WriteAllText([System.IO.Path]::Combine($target, 'Balance.psd1'), $manifest)

    Publish-Nupkg $target
    $target
}

# Publish-PSResource makes the .nupkg; a folder repository registered for the call receives it.
function Publish-Nupkg {
    param([string] $ModuleFolder)
    $packages = [System.IO.Path]::Combine($OutputPath, 'packages')
    $null = [System.IO.Directory]::CreateDirectory($packages)
    Get-ChildItem -LiteralPath $packages -Filter 'Balance.*.nupkg' | Remove-Item
    $repository = "BalanceBuild$PID"
    Register-PSResourceRepository -Name $repository -Uri $packages -Trusted
    try {
        Publish-PSResource -Path $ModuleFolder -Repository $repository -SkipDependenciesCheck
    }
    finally {
        Unregister-PSResourceRepository -Name $repository
    }
}

function Invoke-Install {
    $folder = Invoke-Package
    $modules = [System.IO.Path]::Combine([Environment]::GetFolderPath('LocalApplicationData'), 'powershell', 'Modules')
    if ($IsWindows) {
        $modules = [System.IO.Path]::Combine([Environment]::GetFolderPath('MyDocuments'), 'PowerShell', 'Modules')
    }
    $target = [System.IO.Path]::Combine($modules, 'Balance', (Get-ModuleVersion))
    if ([System.IO.Directory]::Exists($target)) {
        [System.IO.Directory]::Delete($target, $true)
    }
    $null = [System.IO.Directory]::CreateDirectory($target)
    Copy-Item -Path ([System.IO.Path]::Combine($folder, '*')) -Destination $target -Recurse
    Write-Host "Installed Balance $(Get-ModuleVersion) in $target; Import-Module Balance works in any new session."
}

function Wait-Listening([int] $Port) {
    $deadline = [DateTime]::UtcNow.AddSeconds(60)
    while ($true) {
        try {
            [System.Net.Sockets.TcpClient]::new('127.0.0.1', $Port).Dispose()
            return
        }
        catch {
            if ([DateTime]::UtcNow -gt $deadline) { throw "the demo back-end on 127.0.0.1:$Port did not start within 60 s" }
            Start-Sleep -Milliseconds 200
        }
    }
}

function Invoke-Demo {
    $repoBackends = [System.IO.Path]::Combine($root, 'tests', 'pester', 'DemoBackend.ps1')
    $pwsh = Get-PwshCommand
    $logs = [System.IO.Path]::Combine([System.IO.Path]::GetTempPath(), "balance-demo-$DemoPort")
    $null = [System.IO.Directory]::CreateDirectory($logs)
    # Redirected, so a back-end never holds this script's output open (a pipe into tee would wait for it).
    $backends = foreach ($offset in 1, 2) {
        $port = $DemoPort + $offset
        $arguments = @($pwsh | Select-Object -Skip 1) + @('-NoProfile', '-NonInteractive', '-File', $repoBackends, '-Port', $port, '-Name', "backend$offset", '-Seconds', $DemoSeconds)
        Start-Process -FilePath $pwsh[0] -ArgumentList $arguments -PassThru `
            -RedirectStandardOutput ([System.IO.Path]::Combine($logs, "backend$offset.out")) -RedirectStandardError ([System.IO.Path]::Combine($logs, "backend$offset.err"))
    }
    foreach ($offset in 1, 2) {
        Wait-Listening ($DemoPort + $offset)
    }
    Import-Module ([System.IO.Path]::Combine($root, 'Balance.psd1')) -Force
    $instance = Start-Balance -Port $DemoPort -BindAddress 127.0.0.1 -Channel "127.0.0.1:$($DemoPort + 1)", "127.0.0.1:$($DemoPort + 2)" -Detached
    Write-Host @"

Balance listens on $($instance.Endpoint) (process $($instance.ProcessId)) in front of two demo back-ends
on 127.0.0.1:$($DemoPort + 1) and 127.0.0.1:$($DemoPort + 2) (processes $($backends.Id -join ' and ')).

  Reach it:    curl http://127.0.0.1:$DemoPort/      (answers alternate: backend1, backend2)
  Control it:  dotnet pwsh    then:
               Import-Module Balance
               Get-BalanceChannel -Port $DemoPort
               Disable-BalanceChannel -Port $DemoPort -Index 0 -PassThru
               Get-BalanceEvent -Port $DemoPort
  Stop it:     Stop-Balance -Port $DemoPort -Confirm:`$false; Stop-Process -Id $($backends.Id -join ', ')
"@
}

foreach ($name in $Task) {
    switch ($name) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Package' { Invoke-Package }
        'Install' { Invoke-Install }
        'Demo' { Invoke-Demo }
    }
}
