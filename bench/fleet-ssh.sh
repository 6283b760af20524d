#!/usr/bin/env bash
# The fleet recipe of docs/fleet.md over real PowerShell remoting (Invoke-Command -HostName, SSH):
# two "nodes" on this host, each a private sshd on its own loopback address (127.0.0.2, 127.0.0.3,
# one port) with its own host key, authorized key and powershell subsystem, and each with its own
# Balance instance (same port) in its own segment directory, so Get-Balance on a node sees that
# node's instance only. With a live session on channel 1 of both, it runs the page's ssh block as
# written (only $nodes and $ssh differ), checks that both nodes drained, waited, re-addressed and
# enabled the channel, then runs the page's `balance -c` block against two local instances the same
# way. Bounded in time; removes everything it made, also when interrupted. It changes no system ssh
# configuration and nothing in ~/.ssh (ssh gets its key, known hosts and options on its command line).
#
# Usage: bash bench/fleet-ssh.sh [--seconds LIMIT]   (LIMIT bounds each recipe, default 240;
#        needs openssh-server and python3)
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
LIMIT=240
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) LIMIT=${2:?--seconds needs a number}; shift 2 ;;
    -h|--help) sed -n 2,13p "$0"; exit 0 ;;
    *) echo "fleet-ssh: unknown argument '$1' (see --help)" >&2; exit 1 ;;
  esac
done

log() { echo "fleet-ssh: $*" >&2; }
die() { log "$*"; exit 1; }
for tool in /usr/sbin/sshd ssh ssh-keygen python3 dotnet; do
  command -v "$tool" >/dev/null || die "$tool is missing (apt-get install openssh-server openssh-client python3)"
done

WORK=$(mktemp -d /tmp/balance-fleet-ssh.XXXXXX)
chmod 700 "$WORK"
PIDS=()
STEP_GROUPS=()
MADE_PRIVSEP=0
STOPS=()

cleanup() {
  local status=$?
  trap - EXIT INT TERM
  for group in "${STEP_GROUPS[@]+"${STEP_GROUPS[@]}"}"; do kill -TERM -- "-$group" 2>/dev/null || true; done
  for stop in "${STOPS[@]+"${STOPS[@]}"}"; do eval "$stop" >/dev/null 2>&1 || true; done
  for pid in "${PIDS[@]+"${PIDS[@]}"}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ "$MADE_PRIVSEP" = 1 ]; then rmdir /run/sshd 2>/dev/null || true; fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# Every step is bounded: the waits poll a fixed number of times and the two recipes run under
# timeout; whatever happens, the trap stops and removes what was made.

# A long step: in a process group of its own under the time limit, waited for in the background so
# that an interrupt reaches the trap at once, which then ends the whole group (pwsh and its ssh too).
bounded() {
  setsid timeout "$LIMIT" "$@" &
  local pid=$!
  STEP_GROUPS+=("$pid")
  wait "$pid"
}
BIN="$REPO/Balance.Engine/bin/Release/net10.0/balance"
if [ ! -x "$BIN" ] || [ ! -f "$REPO/Balance.PowerShell/bin/Module/Balance.PowerShell.dll" ]; then
  log "building the solution (dotnet build -c Release)"
  dotnet build "$REPO/Balance.sln" -c Release --nologo >"$WORK/build.log" 2>&1 || { tail -n 30 "$WORK/build.log" >&2; die "build failed"; }
fi
DOTNET=$(command -v dotnet)
PSHOME_DIR=$(cd "$REPO" && timeout "$LIMIT" dotnet pwsh -NoProfile -NonInteractive -Command '$PSHOME')
[ -f "$PSHOME_DIR/pwsh.dll" ] || die "no pwsh.dll under '$PSHOME_DIR' (dotnet tool restore in $REPO)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Back-ends that hold each connection until the client side closes, so a session ends when its client does.
python3 - "$WORK/backends" <<'PY' &
import socket, sys, threading
listeners = [socket.create_server(("127.0.0.1", 0)) for _ in range(2)]
open(sys.argv[1], "w").write(" ".join(str(l.getsockname()[1]) for l in listeners) + "\n")
def hold(c):
    with c:
        while c.recv(4096):
            pass
def serve(l):
    while True:
        c, _ = l.accept()
        threading.Thread(target=hold, args=(c,), daemon=True).start()
for l in listeners:
    threading.Thread(target=serve, args=(l,), daemon=True).start()
threading.Event().wait()
PY
PIDS+=($!)
for _ in $(seq 100); do [ -s "$WORK/backends" ] && break; sleep 0.1; done
read -r BE1 BE2 <"$WORK/backends"

# One identity for the user, one host key for both nodes (known_hosts lists it for each address).
ssh-keygen -q -t ed25519 -N '' -f "$WORK/client_key" -C fleet-client
ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key" -C fleet-host
cp "$WORK/client_key.pub" "$WORK/authorized_keys"
SSH_PORT=$(free_port)
LB_PORT=$(free_port)
USER_NAME=$(id -un)
if [ ! -d /run/sshd ]; then mkdir -p /run/sshd && chmod 755 /run/sshd && MADE_PRIVSEP=1; fi

start_node() {   # name address
  local name=$1 address=$2 dir="$WORK/$1"
  mkdir -p "$dir/segments" "$dir/home" "$WORK/modules"
  chmod 700 "$dir/segments"
  [ -e "$WORK/modules/Balance" ] || ln -s "$REPO" "$WORK/modules/Balance"
  # The subsystem a node's sshd runs: pwsh as a server, seeing this node's segments and the module.
  cat >"$dir/pwsh-subsystem" <<EOF
#!/bin/sh
export BALANCE_SEGMENT_DIR='$dir/segments' PSModulePath='$WORK/modules' HOME='$dir/home' DOTNET_CLI_TELEMETRY_OPTOUT=1
exec '$DOTNET' '$PSHOME_DIR/pwsh.dll' -sshs -NoLogo -NoProfile
EOF
  chmod 755 "$dir/pwsh-subsystem"
  cat >"$dir/sshd_config" <<EOF
ListenAddress $address:$SSH_PORT
HostKey $WORK/host_key
PidFile $dir/sshd.pid
AuthorizedKeysFile $WORK/authorized_keys
AllowUsers $USER_NAME
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
LogLevel ERROR
Subsystem powershell $dir/pwsh-subsystem
EOF
  /usr/sbin/sshd -D -f "$dir/sshd_config" -E "$dir/sshd.log" &
  PIDS+=($!)
  echo "[$address]:$SSH_PORT $(cat "$WORK/host_key.pub")" >>"$WORK/known_hosts"
  BALANCE_SEGMENT_DIR="$dir/segments" "$BIN" -b "$address" --workers 1 "$LB_PORT" "127.0.0.1:$BE1" "127.0.0.1:$BE2"
  STOPS+=("BALANCE_SEGMENT_DIR='$dir/segments' '$BIN' -b $address -c kill $LB_PORT")
}

# The `c` column of channel 1 in group 0, as `show` prints it (prefix of several ports removed).
live_on_channel_1() {   # segments address ports...
  local segments=$1 address=$2; shift 2
  BALANCE_SEGMENT_DIR="$segments" "$BIN" -b "$address" -c show "$@" |
    awk '{ sub(/^[0-9]+: /, "") } $1 == 0 && $3 == 1 { n += $7 } END { print n + 0 }'
}

# Clients that stay connected (two per instance, so round robin puts one on channel 1) until closed.
hold_clients() {   # address:port...
  python3 - "$@" <<'PY' &
import socket, sys, threading
clients = [socket.create_connection((t.rsplit(":", 1)[0], int(t.rsplit(":", 1)[1]))) for t in sys.argv[1:] for _ in range(2)]
threading.Event().wait()
PY
  CLIENTS=$!
  PIDS+=($CLIENTS)
}

# The S column of channel 1 in group 0 on one instance.
state_of_channel_1() {   # segments address port
  BALANCE_SEGMENT_DIR="$1" "$BIN" -b "$2" -c show "$3" | awk '$1 == 0 && $3 == 1 { print $4 }'
}

# Ends the clients' sessions once channel 1 drains on every instance given, and notes whether the
# channel was still draining everywhere then: proof that the recipe was still waiting for them.
close_after_drain() {   # marker segments|address|port...
  local marker=$1; shift
  (
    for _ in $(seq 1200); do
      all=1
      for spec in "$@"; do
        IFS='|' read -r seg addr port <<<"$spec"
        [ "$(state_of_channel_1 "$seg" "$addr" "$port")" = drn ] || all=0
      done
      [ "$all" = 1 ] && break
      sleep 0.1
    done
    sleep 2
    still=1
    for spec in "$@"; do
      IFS='|' read -r seg addr port <<<"$spec"
      [ "$(state_of_channel_1 "$seg" "$addr" "$port")" = drn ] || still=0
    done
    [ "$all" = 1 ] && [ "$still" = 1 ] && touch "$marker"
    kill "$CLIENTS"
  ) &
  PIDS+=($!)
}

wait_live() {   # segments address ports...
  for _ in $(seq 200); do
    [ "$(live_on_channel_1 "$@")" -ge $(($# - 2)) ] && return 0
    sleep 0.05
  done
  die "the clients' sessions did not reach channel 1 on $2"
}

log "nodes 127.0.0.2 and 127.0.0.3: sshd on port $SSH_PORT, Balance on port $LB_PORT"
start_node node1 127.0.0.2
start_node node2 127.0.0.3
for _ in $(seq 100); do
  [ -s "$WORK/node1/sshd.pid" ] && [ -s "$WORK/node2/sshd.pid" ] && break
  sleep 0.1
done

hold_clients "127.0.0.2:$LB_PORT" "127.0.0.3:$LB_PORT"
wait_live "$WORK/node1/segments" 127.0.0.2 "$LB_PORT"
wait_live "$WORK/node2/segments" 127.0.0.3 "$LB_PORT"
close_after_drain "$WORK/ssh-waited" "$WORK/node1/segments|127.0.0.2|$LB_PORT" "$WORK/node2/segments|127.0.0.3|$LB_PORT"

cat >"$WORK/driver.ps1" <<'PS1'
param([string] $Doc, [int] $Port, [string] $User, [string] $Key, [string] $KnownHosts)
$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'
$page = Get-Content -Raw $Doc
$code = [regex]::Match($page, '<!-- fleet recipe: ssh[^>]*-->\s*```powershell\r?\n(?<code>.*?)```', 'Singleline').Groups['code'].Value
if (-not $code) { throw "no ssh recipe in $Doc" }
# Only where the nodes are and how ssh reaches them differ from the page.
$code = $code -replace '(?m)^\$nodes = .*$', '$nodes = ''127.0.0.2'', ''127.0.0.3'''
$options = "@{ UserKnownHostsFile = '$KnownHosts'; GlobalKnownHostsFile = '/dev/null'; StrictHostKeyChecking = 'yes'; IdentitiesOnly = 'yes'; BatchMode = 'yes' }"
$code = $code -replace '(?m)^\$ssh = .*$', "`$ssh = @{ HostName = `$nodes; Port = $Port; UserName = '$User'; KeyFilePath = '$Key'; Options = $options }"
$watch = [System.Diagnostics.Stopwatch]::StartNew()
& ([scriptblock]::Create($code)) | Out-Host
$watch.Stop()
"recipe: {0:0.0} s" -f $watch.Elapsed.TotalSeconds
$ssh = @{ HostName = '127.0.0.2', '127.0.0.3'; Port = $Port; UserName = $User; KeyFilePath = $Key; Options = (Invoke-Expression $options) }
$after = @(Invoke-Command @ssh { Get-BalanceChannel -Group 0 -Index 1 })
if ($after.Count -ne 2) { throw "expected channel 1 on two nodes, got $($after.Count)" }
foreach ($c in $after) {
    if ($c.Destination -ne '192.0.2.20:80' -or "$($c.AdminState)" -ne 'Enabled') {
        throw "$($c.PSComputerName): channel 1 is $($c.AdminState) on $($c.Destination), not Enabled on 192.0.2.20:80"
    }
    "$($c.PSComputerName): channel 1 of group 0 on port $($c.Port) -> $($c.Destination), $($c.AdminState)"
}
PS1

log "running the Invoke-Command recipe of docs/fleet.md"
bounded env -C "$REPO" dotnet pwsh -NoProfile -NonInteractive -File "$WORK/driver.ps1" -Doc "$REPO/docs/fleet.md" -Port "$SSH_PORT" \
  -User "$USER_NAME" -Key "$WORK/client_key" -KnownHosts "$WORK/known_hosts" || die "the Invoke-Command recipe failed (sshd logs: $(cat "$WORK"/node*/sshd.log 2>/dev/null | tail -n 5))"
[ -e "$WORK/ssh-waited" ] || die "Invoke-Command recipe: the sessions were not still live while both nodes drained, so the wait was not exercised"
echo "Invoke-Command recipe: both nodes kept channel 1 draining until their live sessions ended"

# The balance -c form: two instances on 127.0.0.1 in a segment directory of their own.
CLI="$WORK/cli"
mkdir -p "$CLI/segments" "$CLI/bin"
chmod 700 "$CLI/segments"
ln -s "$BIN" "$CLI/bin/balance"
P1=$(free_port)
P2=$(free_port)
for p in "$P1" "$P2"; do
  BALANCE_SEGMENT_DIR="$CLI/segments" "$BIN" -b 127.0.0.1 --workers 1 "$p" "127.0.0.1:$BE1" "127.0.0.1:$BE2"
  STOPS+=("BALANCE_SEGMENT_DIR='$CLI/segments' '$BIN' -b 127.0.0.1 -c kill $p")
done
hold_clients "127.0.0.1:$P1" "127.0.0.1:$P2"
wait_live "$CLI/segments" 127.0.0.1 "$P1" "$P2"
close_after_drain "$WORK/cli-waited" "$CLI/segments|127.0.0.1|$P1" "$CLI/segments|127.0.0.1|$P2"
python3 - "$REPO/docs/fleet.md" "$P1 $P2" >"$CLI/recipe.sh" <<'PY'
import re, sys
page = open(sys.argv[1]).read()
section = page[page.index("## The same with the `balance` command"):]
code = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
print(re.sub(r'(?m)^ports=".*"$', 'ports="%s"' % sys.argv[2], code))
PY
log "running the balance -c recipe of docs/fleet.md on ports $P1 $P2"
start=$(date +%s.%N)
bounded env PATH="$CLI/bin:$PATH" BALANCE_SEGMENT_DIR="$CLI/segments" bash -euo pipefail "$CLI/recipe.sh" \
  || die "the balance -c recipe failed or ran over ${LIMIT}s"
took=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
shown=$(BALANCE_SEGMENT_DIR="$CLI/segments" "$BIN" -b 127.0.0.1 -c show "$P1" "$P2")
moved=$(echo "$shown" | awk '{ sub(/^[0-9]+: /, "") } $1 == 0 && $3 == 1 && $4 == "ENA" && $5 == "192.0.2.20" && $6 == 80' | wc -l)
[ "$moved" -eq 2 ] || die "balance -c recipe: channel 1 moved and enabled on $moved of 2 instances:
$shown"
[ -e "$WORK/cli-waited" ] || die "balance -c recipe: the sessions were not still live while both instances drained, so the wait was not exercised"
echo "balance -c recipe: ${took} s; channel 1 of group 0 on 192.0.2.20:80 and enabled on ports $P1 and $P2"
log "done: both forms moved the channel on every instance after its sessions ended"
