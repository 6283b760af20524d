<#
.SYNOPSIS
Builds, tests and packages Balance and its PowerShell module.

.DESCRIPTION
Tasks:
  Build    dotnet build of the solution (lays the module out in Balance.PowerShell/bin/Module).
  Test     dotnet test of the solution.
  Package  a module folder ready for Publish-Module: <OutputPath>/Balance/ with a flat manifest
           (RootModule = the dll), the format file, en-US help and the engine (balance.dll and its
           runtime files, used by Start-Balance -Detached).
Uses only core cmdlets and dotnet, so it runs on a bare PowerShell 7.6 (and inside a hosted engine).

.EXAMPLE
./build.ps1 -Task Build, Test, Package -Configuration Release
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Package')]
    [string[]] $Task = @('Build'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Debug',

    # Where Package puts the Balance module folder.
    [string] $OutputPath = [System.IO.Path]::Combine($PSScriptRoot, 'out'),

    # Package from the current bin/Module without building first.
    [switch] $NoBuild
)

$ErrorActionPreference = 'Stop'
$root = $PSScriptRoot
$moduleSource = [System.IO.Path]::Combine($root, 'Balance.PowerShell', 'bin', 'Module')

function Invoke-Dotnet {
    param([string[]] $Arguments)
    & dotnet @Arguments
    if ($LASTEXITCODE -ne 0) {
        throw "dotnet $($Arguments -join ' ') failed with exit code $LASTEXITCODE"
    }
}

function Invoke-Build {
    Invoke-Dotnet @('build', [System.IO.Path]::Combine($root, 'Balance.sln'), '--configuration', $Configuration, '--nologo')
}

function Invoke-Test {
    Invoke-Dotnet @('test', [System.IO.Path]::Combine($root, 'Balance.sln'), '--configuration', $Configuration, '--nologo')
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
            throw "$source is missing; build first (./build.ps1 -Task Build)"
        }
    }

    $help = [System.IO.Path]::Combine($moduleSource, 'en-US', 'Balance.PowerShell.dll-Help.xml')
    [System.IO.File]::Copy($help, [System.IO.Path]::Combine($target, 'en-US', 'Balance.PowerShell.dll-Help.xml'), $true)

    # The published manifest is the repository's with the paths made flat: one source for both.
    $manifest = [System.IO.File]::ReadAllText([System.IO.Path]::Combine($root, 'Balance.psd1'))
    $nested = "NestedModules        = @('Balance.PowerShell/bin/Module/Balance.PowerShell.dll')"
    if (-not $manifest.Contains($nested)) {
        throw "Balance.psd1 no longer has the line this script rewrites: $nested"
    }

    $manifest = $manifest.Replace($nested, "RootModule           = 'Balance.PowerShell.dll'")
    $manifest = $manifest.Replace("'Balance.PowerShell/bin/Module/Balance.format.ps1xml'", "'Balance.format.ps1xml'")
    [System.IO.File]::WriteAllText([System.IO.Path]::Combine($target, 'Balance.psd1'), $manifest)
    $target
}

foreach ($name in $Task) {
    switch ($name) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Package' { Invoke-Package }
    }
}
