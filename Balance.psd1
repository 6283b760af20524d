#
# Module manifest for Balance, loadable straight from a built repository: `dotnet build` lays the
# module out in Balance.PowerShell/bin/Module/ (whatever the configuration).
# The dll is a nested module here, not the RootModule, because Get-Help looks for a cmdlet's help
# next to the module that implements it: as a nested module its base is bin/Module, where
# en-US/Balance.PowerShell.dll-Help.xml is. build.ps1 -Task Package writes the published module's
# flat manifest from this one (RootModule = 'Balance.PowerShell.dll').
#
@{
    NestedModules        = @('Balance.PowerShell/bin/Module/Balance.PowerShell.dll')
    ModuleVersion        = '0.1.0'
    GUID                 = '6f0c2f43-5a8e-4d39-9b0e-2c7d4e8b51a6'
    Author               = 'Balance developers'
    CompanyName          = 'Balance developers'
    Copyright            = '(c) Balance developers'
    Description          = 'Run and control Balance, a TCP load-balancing proxy with failover groups (a revival of the Unix balance 3.54): start engines as jobs or detached processes, and read or change channels, groups and counters of any running instance through its control segment.'
    CompatiblePSEditions = @('Core')
    PowerShellVersion    = '7.6'
    FormatsToProcess     = @('Balance.PowerShell/bin/Module/Balance.format.ps1xml')
    CmdletsToExport      = @(
        'Add-BalanceChannel'
        'Disable-BalanceChannel'
        'Enable-BalanceChannel'
        'Export-BalanceCounter'
        'Get-Balance'
        'Get-BalanceChannel'
        'Get-BalanceCounter'
        'Get-BalanceEvent'
        'Get-BalanceGroup'
        'Invoke-BalanceCommand'
        'New-BalanceGroup'
        'Reset-BalanceChannel'
        'Restart-Balance'
        'Save-BalanceLayout'
        'Set-BalanceChannel'
        'Set-BalanceGroup'
        'Start-Balance'
        'Stop-Balance'
        'Wait-BalanceChannel'
    )
    FunctionsToExport    = @()
    AliasesToExport      = @()
    VariablesToExport    = @()
    PrivateData          = @{
        PSData = @{
            Tags         = @('Balance', 'LoadBalancer', 'Proxy', 'TCP', 'Failover', 'MRTG', 'PSEdition_Core', 'Linux', 'Windows', 'macOS')
            ReleaseNotes = 'First release of the Balance module.'
        }
    }
}
