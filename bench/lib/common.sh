# Helpers for bench/run.sh (sourced). Expects SCRATCH, PIDS-free globals set by the caller.
# Every long-lived process is started through start_bg, recorded by pid, and stopped by pid
# in cleanup (with the descendants it had, e.g. nginx workers).

PIDS=()        # recorded long-lived processes, in start order
PID_NAMES=()
POLICY_RC_CREATED=0
CHOSEN_PORTS=" "
STARTED_PID=0
CUR_PID=""     # the measurement running now (stopped by cleanup on INT/TERM)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

proc_alive() {   # pid: running and not a zombie
  local st
  [ -r "/proc/$1/stat" ] || return 1
  st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

descendants() {  # pid -> all descendant pids
  local c
  for c in $(pgrep -P "$1" 2>/dev/null); do
    echo "$c"
    descendants "$c"
  done
}

stop_pid() {     # pid name: TERM, wait up to 5 s, then KILL (with the pid's descendants)
  local pid=$1 name=$2 kids i
  proc_alive "$pid" || { wait "$pid" 2>/dev/null; return 0; }
  kids=$(descendants "$pid")
  kill -TERM "$pid" 2>/dev/null
  for ((i = 0; i < 50; i++)); do
    proc_alive "$pid" || break
    sleep 0.1
  done
  if proc_alive "$pid"; then
    log "$name (pid $pid) ignored SIGTERM; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null
  fi
  wait "$pid" 2>/dev/null
  for i in $kids; do
    if proc_alive "$i"; then
      sleep 0.5
      proc_alive "$i" && { log "killing leftover child $i of $name"; kill -KILL "$i" 2>/dev/null; }
    fi
  done
  return 0
}

cleanup() {
  local rc=$? i
  set +e
  trap - INT TERM EXIT
  [ -n "${CUR_PID:-}" ] && stop_pid "$CUR_PID" measurement
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
    stop_pid "${PIDS[$i]}" "${PID_NAMES[$i]}"
  done
  [ "$POLICY_RC_CREATED" = 1 ] && rm -f /usr/sbin/policy-rc.d
  if [ -n "${SCRATCH:-}" ] && [ -d "$SCRATCH" ]; then
    rm -rf "$SCRATCH/artifacts"   # build intermediates: large, never needed afterwards
    if [ "${KEEP:-0}" = 1 ] || [ "$rc" = 1 ]; then   # failure: keep configs and logs
      [ "$rc" = 1 ] && log "failed; scratch kept for inspection: $SCRATCH" \
                    || log "scratch kept: $SCRATCH"
    else
      rm -rf "$SCRATCH"
    fi
  fi
  exit "$rc"
}

start_bg() {     # name cpu logfile cmd... ; sets STARTED_PID
  local name=$1 cpu=$2 logf=$3
  shift 3
  taskset -c "$cpu" "$@" >"$logf" 2>&1 </dev/null &
  STARTED_PID=$!
  PIDS+=("$STARTED_PID")
  PID_NAMES+=("$name")
}

wait_listen() {  # port pid [secs]: wait until 127.0.0.1:port listens, while pid lives
  local port=$1 pid=$2 secs=${3:-20} i
  for ((i = 0; i < secs * 10; i++)); do
    ss -ltnH "sport = :$port" 2>/dev/null | grep -q . && return 0
    proc_alive "$pid" || return 1
    sleep 0.1
  done
  return 1
}

wait_drained() { # ports secs: wait until no ESTABLISHED server-side sockets on the ports
  local ports=$1 secs=$2 i n=0
  for ((i = 0; i < secs * 4; i++)); do
    n=$(python3 "$LIB/benchlib.py" established --ports "$ports")
    [ "$n" -le 2 ] && return 0
    sleep 0.25
  done
  log "  $n connections still open on backend ports $ports after ${secs}s"
}

pick_port() {    # a free TCP port below the ephemeral range, not used in this run
  local lo hi p i
  read -r lo _ </proc/sys/net/ipv4/ip_local_port_range
  hi=$(( lo > 20100 ? lo - 1 : 29999 ))
  for ((i = 0; i < 500; i++)); do
    p=$(shuf -i "20000-$hi" -n 1)
    case "$CHOSEN_PORTS" in *" $p "*) continue ;; esac
    if [ -z "$(ss -tanH "sport = :$p" 2>/dev/null)" ]; then
      CHOSEN_PORTS+="$p "
      echo "$p"
      return 0
    fi
  done
  die "no free TCP port found"
}

machine_busy_pct() {  # busy share of all CPUs over 2 s, from /proc/stat
  local a b
  a=$(head -n1 /proc/stat); sleep 2; b=$(head -n1 /proc/stat)
  python3 -c '
import sys
a = [int(x) for x in sys.argv[1].split()[1:]]
b = [int(x) for x in sys.argv[2].split()[1:]]
d = [y - x for x, y in zip(a, b)]
idle = d[3] + d[4]
print(round(100 * (1 - idle / max(1, sum(d[:8])))))' "$a" "$b"
}

# ------------------------------------------------------------------ tools
stream_module() { # prints the load_module line nginx needs for the stream module, or fails
  local f
  if nginx -V 2>&1 | grep -q -- '--with-stream\( \|$\)'; then echo ""; return 0; fi
  for f in /usr/lib/nginx/modules/ngx_stream_module.so /usr/share/nginx/modules/ngx_stream_module.so; do
    [ -e "$f" ] && { echo "load_module $f;"; return 0; }
  done
  return 1
}

missing_tools() {
  local t
  for t in iperf3 wrk haproxy nginx; do command -v "$t" >/dev/null || echo "$t"; done
  command -v nginx >/dev/null && ! stream_module >/dev/null && echo libnginx-mod-stream
  return 0
}

ensure_tools() {
  local pkgs ilog="$SCRATCH/apt.log"
  pkgs=$(missing_tools | tr '\n' ' ')
  if [ -n "${pkgs// /}" ]; then
    # nginx is needed for the stream module too
    case " $pkgs " in *" nginx "*) pkgs+=" libnginx-mod-stream" ;; esac
    [ "$(id -u)" = 0 ] || die "missing tools: $pkgs; run as root or 'apt-get install -y $pkgs'"
    command -v apt-get >/dev/null || die "missing tools: $pkgs, and apt-get is not available"
    log "installing from Debian packages: $pkgs"
    if [ ! -e /usr/sbin/policy-rc.d ]; then   # keep the packages' own services from starting
      printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      POLICY_RC_CREATED=1
    fi
    # shellcheck disable=SC2086
    if ! DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends $pkgs >"$ilog" 2>&1; then
      log "apt-get install failed; running apt-get update once and retrying"
      DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -q >>"$ilog" 2>&1 || log "apt-get update failed"
      # shellcheck disable=SC2086
      DEBIAN_FRONTEND=noninteractive timeout 900 apt-get install -y -q --no-install-recommends $pkgs >>"$ilog" 2>&1 \
        || { tail -n 20 "$ilog" >&2; die "could not install: $pkgs (see apt output above)"; }
    fi
    if [ "$POLICY_RC_CREATED" = 1 ]; then rm -f /usr/sbin/policy-rc.d; POLICY_RC_CREATED=0; fi
  fi
  pkgs=$(missing_tools | tr '\n' ' ')
  [ -z "${pkgs// /}" ] || die "still missing after installation: $pkgs"
  NGX_STREAM_LOAD=$(stream_module)
}

tool_versions_json() {
  python3 - "$(haproxy -v 2>&1 | head -n1)" "$(nginx -v 2>&1 | head -n1)" \
    "$(iperf3 -v 2>&1 | head -n1)" "$(wrk -v 2>&1 | head -n1)" "${BALANCE_BIN:-}" <<'EOF'
import json, re, sys
h, n, i, w, b = sys.argv[1:6]
v = {"haproxy": (re.search(r"version (\S+)", h) or re.search(r"(.*)", h)).group(1),
     "nginx": n.split("/")[-1],
     "iperf3": (re.search(r"iperf (\S+)", i) or re.search(r"(.*)", i)).group(1),
     "wrk": (re.search(r"wrk (\S+)", w) or re.search(r"(.*)", w)).group(1)}
if b:
    v["balance"] = b
print(json.dumps(v))
EOF
}

# Sets BALANCE_BIN for the scripts beside run.sh: the executable given (--balance-bin), or a
# fresh `dotnet publish` of this repository's engine into the scratch folder (intermediates too,
# so a developer's own bin/ and obj/ are never touched). Dies with the build log's tail.
resolve_balance_bin() {  # scratch
  local scratch=$1
  if [ -z "$BALANCE_BIN" ]; then
    log "building Balance.Engine (dotnet publish -c Release)"
    DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 timeout 600 \
      dotnet publish "$REPO/Balance.Engine" -c Release -o "$scratch/balance-bin" --artifacts-path "$scratch/artifacts" \
      >"$scratch/balance-build.log" 2>&1 \
      || { tail -n 30 "$scratch/balance-build.log" >&2; die "dotnet publish failed (log above)"; }
    BALANCE_BIN="$scratch/balance-bin/balance"
  fi
  [ -x "$BALANCE_BIN" ] || die "'$BALANCE_BIN' is not an executable file"
}

# ------------------------------------------------------------------ configs
# The process settings both nginx roles share (backend and stream proxy): $2 workers (default 1),
# foreground, files in $1.
nginx_process_block() {  # dir [workers]
  local d=$1 w=${2:-1}
  cat <<EOF
worker_processes $w;
worker_rlimit_nofile ${NOFILE};
daemon off;
master_process on;
user root;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 19850; }
EOF
}

write_backend_nginx_conf() {  # dir port1 port2 [workers]
  local d=$1 p1=$2 p2=$3 w=${4:-1}
  mkdir -p "$d/tmp"
  cat >"$d/nginx.conf" <<EOF
$(nginx_process_block "$d" "$w")
http {
  access_log off;
  keepalive_timeout 600s;
  keepalive_requests 1000000000;
  default_type text/plain;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  server { listen 127.0.0.1:$p1; location / { return 200 "hello from backend $p1\n"; } }
  server { listen 127.0.0.1:$p2; location / { return 200 "hello from backend $p2\n"; } }
}
EOF
}

# Expects WORKERS (threads / worker processes / balance workers) and PROXY_CPUS (the taskset
# list: CPU 0 in the default mode, every CPU in the scaling mode).
start_proxy() {  # name kind port backend1-port backend2-port ; sets STARTED_PID
  local name=$1 kind=$2 port=$3 b1=$4 b2=$5 d="$SCRATCH/$1-$2" rc=0 extra=()
  mkdir -p "$d"
  case "$name" in
    haproxy)
      cat >"$d/haproxy.cfg" <<EOF
global
  nbthread ${WORKERS}
  maxconn 9900
defaults
  mode tcp
  balance roundrobin
  timeout connect 5s
  timeout client 600s
  timeout server 600s
listen $kind
  bind 127.0.0.1:$port
  server s1 127.0.0.1:$b1
  server s2 127.0.0.1:$b2
EOF
      start_bg "haproxy-$kind" "$PROXY_CPUS" "$SCRATCH/haproxy-$kind.log" haproxy -db -f "$d/haproxy.cfg" ;;
    nginx)
      cat >"$d/nginx.conf" <<EOF
${NGX_STREAM_LOAD}
$(nginx_process_block "$d" "$WORKERS")
stream {
  upstream backends { server 127.0.0.1:$b1; server 127.0.0.1:$b2; }
  server {
    listen 127.0.0.1:$port;
    proxy_pass backends;
    proxy_connect_timeout 5s;
    proxy_timeout 600s;
  }
}
EOF
      start_bg "nginx-$kind" "$PROXY_CPUS" "$SCRATCH/nginx-$kind.log" \
        nginx -p "$d" -e "$d/error.log" -c "$d/nginx.conf" ;;
    balance|baseline)
      # --workers only in the scaling mode, so the default command line stays the original one
      if [ "$WORKERS" -gt 1 ]; then extra=(--workers "$WORKERS"); fi
      local bin=$BALANCE_BIN; [ "$name" = baseline ] && bin=$BASELINE_BIN
      start_bg "$name-$kind" "$PROXY_CPUS" "$SCRATCH/$name-$kind.log" \
        "$bin" "${extra[@]+"${extra[@]}"}" -f -b 127.0.0.1 "$port" "127.0.0.1:$b1" "127.0.0.1:$b2" ;;
  esac
  if ! wait_listen "$port" "$STARTED_PID" 30; then
    if [ "$name" = balance ] && [ "$WORKERS" -gt 1 ] && ! proc_alive "$STARTED_PID"; then
      wait "$STARTED_PID" 2>/dev/null || rc=$?
      if [ "$rc" = 64 ]; then   # 64 = usage error: the option is unknown to this build
        tail -n 5 "$SCRATCH/$name-$kind.log" >&2 2>/dev/null || true
        die "balance refused '--workers $WORKERS' (exit $rc, its message above): $BALANCE_BIN has no workers option; use a build that has it, or run with --workers 1"
      fi
    fi
    tail -n 20 "$SCRATCH/$name-$kind.log" "$d/error.log" >&2 2>/dev/null || true
    die "$name ($kind instance) did not listen on 127.0.0.1:$port (log above)"
  fi
}
