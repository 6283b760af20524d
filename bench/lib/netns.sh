# Shared helpers of bench/topology-*.sh (sourced): namespaces, links and processes that a run
# makes and must remove again, also when it fails or is interrupted. Every namespace is named
# "$NS_PREFIX-..." and recorded in NS_MADE; the switch (a bridge) lives in a namespace of its own
# and every veth pair is created inside namespaces, so nothing is ever added to the host's own
# interfaces or routes, and deleting the namespaces removes every link with them.

NS_MADE=()       # namespaces this run created, in creation order
NS_PIDS=()       # long-lived processes this run started (ip netns exec ... &), by pid
NS_PID_NAMES=()
NS_LOCK_FD=""
NS_WATCHDOG=""   # the time-budget watchdog
NS_STEP=""       # the long step running now
STARTED_PID=0

log() { printf '[topology %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

ns_require_root() {
  [ "$(id -u)" = 0 ] || die "network namespaces need root: run it with sudo"
  ip netns list >/dev/null 2>&1 || die "'ip netns' does not work here (iproute2 missing or no CAP_SYS_ADMIN)"
}

# One topology run at a time on a host: two runs would share the namespace prefix. The lock is
# released when the shell exits, however it exits; every process the run starts gets the lock's
# descriptor closed ({NS_LOCK_FD}>&-), so processes a SIGKILLed run left behind do not hold it.
ns_lock() {  # lockfile
  exec {NS_LOCK_FD}>"$1"
  flock -n "$NS_LOCK_FD" || die "another topology run holds $1; wait for it to finish"
}


# Namespaces with our prefix that no running topology owns (we hold the lock) are leftovers of a
# run killed with SIGKILL, which no trap can catch: remove them first so this run starts clean.
ns_remove_leftovers() {
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$NS_PREFIX-" || true); do
    log "removing leftover namespace $ns (from a run that was killed)"
    ns_kill_members "$ns"
    ip netns del "$ns" 2>/dev/null || true
  done
}

ns_add() {  # name: creates $NS_PREFIX-name with lo up
  local ns="$NS_PREFIX-$1"
  ip netns add "$ns" || die "cannot create namespace $ns"
  NS_MADE+=("$ns")
  ip -n "$ns" link set lo up
}

# A bridge "br0" in the switch namespace; each port is a veth pair made inside the switch
# namespace whose other end moves straight into the member namespace as eth0.
ns_switch() {  # switch-name
  ns_add "$1"
  ip -n "$NS_PREFIX-$1" link add br0 type bridge
  ip -n "$NS_PREFIX-$1" link set br0 up
}

ns_plug() {  # switch-name member-name: member's eth0 on the switch's bridge
  local sw="$NS_PREFIX-$1" member="$NS_PREFIX-$2" port="p-$2"
  ip -n "$sw" link add "$port" type veth peer name eth0 netns "$member" \
    || die "cannot create the veth pair $port/eth0 for $member"
  ip -n "$sw" link set "$port" master br0 up
  ip -n "$member" link set eth0 up
}

ns_exec() {  # name cmd...: runs cmd inside $NS_PREFIX-name
  local ns="$NS_PREFIX-$1"
  shift
  ip netns exec "$ns" "$@" {NS_LOCK_FD}>&-
}

ns_start() {  # label name logfile cmd...: long-lived process inside $NS_PREFIX-name; sets STARTED_PID
  local label=$1 ns="$NS_PREFIX-$2" logf=$3
  shift 3
  # ip netns exec execs the command, so the pid recorded is the process itself.
  ip netns exec "$ns" "$@" >"$logf" 2>&1 </dev/null {NS_LOCK_FD}>&- &
  STARTED_PID=$!
  NS_PIDS+=("$STARTED_PID")
  NS_PID_NAMES+=("$label")
}

# Balance stops gracefully on the first TERM and waits for its live sessions, which a node cut off
# from its clients keeps (their FIN went to another node); the second TERM closes them at once.
ns_stop_pid() {  # pid label: TERM, TERM again after 1 s, KILL after 3 s
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 30; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    [ "$i" = 10 ] && kill -TERM "$pid" 2>/dev/null
    sleep 0.1
  done
  kill -0 "$pid" 2>/dev/null && { log "$2 (pid $pid) ignored SIGTERM; SIGKILL"; kill -KILL "$pid" 2>/dev/null; }
  wait "$pid" 2>/dev/null
  return 0
}

# Processes started inside one of our namespaces after the fact (a node restarted by the
# measurement) are not in NS_PIDS; the kernel lists them by namespace, and every process in a
# namespace this run created is one of ours.
ns_kill_members() {  # namespace (full name)
  local pids p
  pids=$(ip netns pids "$1" 2>/dev/null || true)
  [ -n "$pids" ] || return 0
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in $(ip netns pids "$1" 2>/dev/null || true); do kill -TERM "$p" 2>/dev/null || true; done
  sleep 1
  for p in $(ip netns pids "$1" 2>/dev/null || true); do kill -KILL "$p" 2>/dev/null || true; done
}

ns_cleanup() {
  local rc=$? i
  set +e
  trap - INT TERM EXIT
  if [ -n "${NS_WATCHDOG:-}" ]; then
    local sleeper
    sleeper=$(pgrep -P "$NS_WATCHDOG" 2>/dev/null || true)
    kill "$NS_WATCHDOG" $sleeper 2>/dev/null
  fi
  [ -n "${NS_STEP:-}" ] && ns_stop_pid "$NS_STEP" "measurement"
  for ((i = ${#NS_PIDS[@]} - 1; i >= 0; i--)); do
    ns_stop_pid "${NS_PIDS[$i]}" "${NS_PID_NAMES[$i]}"
  done
  for ((i = ${#NS_MADE[@]} - 1; i >= 0; i--)); do
    ns_kill_members "${NS_MADE[$i]}"
    ip netns del "${NS_MADE[$i]}" 2>/dev/null || log "could not delete namespace ${NS_MADE[$i]}"
  done
  if [ -n "${SCRATCH:-}" ] && [ -d "$SCRATCH" ]; then
    if [ "${KEEP:-0}" = 1 ] || [ "$rc" = 1 ]; then   # a failure (not an interruption): keep the logs
      log "scratch kept for inspection: $SCRATCH"
    else
      rm -rf "$SCRATCH"
    fi
  fi
  local left
  left=$(ip netns list 2>/dev/null | grep -c "^$NS_PREFIX-" || true)
  [ "$left" = 0 ] || log "WARNING: $left namespace(s) named $NS_PREFIX-* still exist"
  exit "$rc"
}

# The whole run is bounded: a watchdog sends TERM to the script (whose trap cleans up) when the
# budget is spent. Long steps run in the background and are waited for, so the trap runs at once.
ns_deadline() {  # seconds
  local main=$$ end=$((SECONDS + $1))
  (
    local me=$BASHPID
    while [ "$SECONDS" -lt "$end" ]; do
      sleep 1
      # A run killed with SIGKILL leaves this loop orphaned: then it must not signal a reused pid.
      [ "$(ps -o ppid= -p "$me" | tr -d ' ')" = "$main" ] || exit 0
    done
    log "time budget of $1 s spent; stopping"
    kill -TERM "$main"
  ) 2>&1 >/dev/null {NS_LOCK_FD}>&- &
  NS_WATCHDOG=$!
}

ns_wait_step() {  # cmd...: runs it in the background and waits (interruptible by the traps)
  "$@" {NS_LOCK_FD}>&- &
  NS_STEP=$!
  wait "$NS_STEP"
}

ns_traps() {
  trap ns_cleanup EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

# The engine to test: a given executable, or one published from this checkout.
ns_balance_bin() {  # repo given-path -> prints the path
  local repo=$1 given=$2
  if [ -n "$given" ]; then
    [ -x "$given" ] || die "'$given' is not an executable file"
    realpath "$given"
    return 0
  fi
  log "building Balance.Engine (dotnet publish -c Release, native AOT)"
  timeout 900 dotnet publish "$repo/Balance.Engine" -c Release -o "$SCRATCH/balance-bin" \
      --artifacts-path "$SCRATCH/artifacts" >"$SCRATCH/build.log" 2>&1 {NS_LOCK_FD}>&- \
    || { tail -n 30 "$SCRATCH/build.log" >&2; die "dotnet publish failed (log above)"; }
  rm -rf "$SCRATCH/artifacts"
  echo "$SCRATCH/balance-bin/balance"
}

ns_wait_listen() {  # name addr port pid [secs]: until addr:port listens inside the namespace
  local ns="$NS_PREFIX-$1" addr=$2 port=$3 pid=$4 secs=${5:-20} i
  for ((i = 0; i < secs * 10; i++)); do
    ip netns exec "$ns" ss -ltnH "sport = :$port" 2>/dev/null | grep -qF "$addr" && return 0
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

ns_measure() {  # mode title: runs topology.py MODE in the client namespace on $SCRATCH/config.json, prints its table under TITLE (and to $OUT)
  local result="$SCRATCH/result.md"
  ns_wait_step ip netns exec "$NS_PREFIX-cli" python3 "$HERE/lib/topology.py" "$1" \
    --config "$SCRATCH/config.json" --out "$result" >/dev/null
  NS_STEP=""
  { echo "## $2"; echo; cat "$result"; } | tee "${OUT:-/dev/null}"
  if [ -n "$OUT" ]; then cp "$SCRATCH/result.json" "${OUT%.*}.json"; fi
}
