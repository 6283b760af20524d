<#
.SYNOPSIS
A tiny HTTP back-end for the demo and the tests: answers every request with its name.
.PARAMETER Seconds
How long it serves before it exits; 0 = until the process is stopped.
#>
param(
    [Parameter(Mandatory)] [int] $Port,
    [Parameter(Mandatory)] [string] $Name,
    [int] $Seconds = 0
)

$listener = [System.Net.Sockets.TcpListener]::new([System.Net.IPAddress]::Loopback, $Port)
$listener.Start()
$deadline = if ($Seconds -gt 0) { [DateTime]::UtcNow.AddSeconds($Seconds) } else { [DateTime]::MaxValue }
$body = [System.Text.Encoding]::ASCII.GetBytes("$Name`n")
$reply = [System.Text.Encoding]::ASCII.GetBytes("HTTP/1.0 200 OK`r`nContent-Type: text/plain`r`nContent-Length: $($body.Length)`r`nConnection: close`r`n`r`n") + $body
try {
    while ([DateTime]::UtcNow -lt $deadline) {
        if (-not $listener.Pending()) {
            Start-Sleep -Milliseconds 20
            continue
        }
        $client = $listener.AcceptTcpClient()
        try {
            $stream = $client.GetStream()
            $stream.ReadTimeout = 2000
            $buffer = [byte[]]::new(4096)
            try { $null = $stream.Read($buffer, 0, $buffer.Length) } catch { }
            $stream.Write($reply, 0, $reply.Length)
            $client.Client.Shutdown([System.Net.Sockets.SocketShutdown]::Send)
        }
        catch { }
        finally { $client.Dispose() }
    }
}
finally {
    $listener.Stop()
}
