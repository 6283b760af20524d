<#
.SYNOPSIS
Runs the Pester suite and writes its counts as JSON; build.ps1 -Task Test runs it in a child pwsh.
#>
param(
    [Parameter(Mandatory)] [string] $Pester,
    [Parameter(Mandatory)] [string] $ResultFile
)

$ErrorActionPreference = 'Stop'
Import-Module $Pester
$configuration = New-PesterConfiguration
$configuration.Run.Path = $PSScriptRoot
$configuration.Run.PassThru = $true
$configuration.Output.Verbosity = 'Normal'
$result = Invoke-Pester -Configuration $configuration
[pscustomobject]@{
    Discovered = $result.TotalCount
    Passed     = $result.PassedCount
    Failed     = $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount
    Skipped    = $result.SkippedCount + $result.NotRunCount
} | ConvertTo-Json | Set-Content -LiteralPath $ResultFile
