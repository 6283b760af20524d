#!/usr/bin/env bash
# Side-by-side loopback benchmark: direct vs haproxy vs nginx stream vs Balance.
# Usage: bash bench/run.sh [--reps N] [--duration S] [--quick] [--balance-bin PATH] [--out FILE]
#                          [--workers N] [--compare FILE] [--baseline-bin PATH]
# See bench/README.md for what is measured and how to read the table.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
LIB="$HERE/lib"
# shellcheck source=lib/common.sh
source "$LIB/common.sh"

usage() {
  cat <<'EOF'
Usage: bash bench/run.sh [options]

  --reps N            repetitions (default 3; 1 with --quick)
  --duration S        seconds per measured run (default 6; 2 with --quick)
  --quick             smoke test: 1 rep, short runs, 1000 idle connections
  --balance-bin PATH  use this balance executable instead of building Balance.Engine
  --baseline-bin PATH one more slot, "baseline": another balance build (an earlier commit's)
                      run beside this one, so a change is judged within one run
  --out FILE          markdown result (default bench/results/latest.md; latest-wN.md with --workers N)
  --idle N            idle connections (default 9000, capped by the open-files limit)
  --rate R            fixed request rate per slot for the latency scenario (default 2000 req/s)
  --proxies LIST      comma list out of haproxy,nginx,balance (default all three)
  --scenarios LIST    comma list out of bulk_1,bulk_8,http_ka_c50,http_ka_c1,http_close_c50,
                      latency_fixed,idle (default all)
  --workers N         scaling mode when N > 1: every proxy unpinned with N workers (haproxy
                      nbthread N, nginx worker_processes N, balance --workers N), the load
                      side unpinned too (default 1: proxy alone on CPU 0, load on CPU 1)
  --compare FILE      after the run, add a table that puts this run beside an earlier one
                      (its report .md or .raw.jsonl): each proxy's gain, more workers / fewer
  --keep              keep the scratch directory (configs, logs, raw data)
  -h, --help          this text
EOF
}

REPS="" DURATION="" QUICK=0 BALANCE_BIN="" BASELINE_BIN="" OUT="" IDLE_N="" RATE=2000 RATE_CONNS=10
PROXIES="haproxy,nginx,balance" KEEP=0 WORKERS=1 COMPARE=""
ALL_SCENARIOS="bulk_1,bulk_8,http_ka_c50,http_ka_c1,http_close_c50,latency_fixed,idle" SCENARIO_LIST=""
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=${2:?--reps needs a value}; shift 2 ;;
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --quick) QUICK=1; shift ;;
    --balance-bin) BALANCE_BIN=${2:?--balance-bin needs a path}; shift 2 ;;
    --baseline-bin) BASELINE_BIN=${2:?--baseline-bin needs a path}; shift 2 ;;
    --out) OUT=${2:?--out needs a file}; shift 2 ;;
    --idle) IDLE_N=${2:?--idle needs a value}; shift 2 ;;
    --rate) RATE=${2:?--rate needs a value}; shift 2 ;;
    --proxies) PROXIES=${2:?--proxies needs a list}; shift 2 ;;
    --scenarios) SCENARIO_LIST=${2:?--scenarios needs a list}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --workers) WORKERS=${2:?--workers needs a value}; shift 2 ;;
    --compare) COMPARE=${2:?--compare needs a file}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done
if [ "$QUICK" = 1 ]; then
  : "${REPS:=1}" "${DURATION:=2}" "${IDLE_N:=1000}"
fi
: "${REPS:=3}" "${DURATION:=6}"
for v in REPS DURATION RATE WORKERS; do
  [[ ${!v} =~ ^[0-9]+$ ]] && [ "${!v}" -ge 1 ] || die "--${v,,} must be a positive integer (got '${!v}')"
done
WORKERS=$((10#$WORKERS))   # "02" is 2
[ -z "$IDLE_N" ] || [[ $IDLE_N =~ ^[1-9][0-9]*$ ]] || die "--idle must be a positive integer (got '$IDLE_N')"
if [ "$WORKERS" = 1 ]; then : "${OUT:=$HERE/results/latest.md}"; else : "${OUT:=$HERE/results/latest-w$WORKERS.md}"; fi
[[ $OUT = /* ]] || OUT="$PWD/$OUT"
if [ -n "$COMPARE" ]; then
  [[ $COMPARE = /* ]] || COMPARE="$PWD/$COMPARE"
  COMPARE_RAW=${COMPARE%.md}; COMPARE_RAW=${COMPARE_RAW%.raw.jsonl}.raw.jsonl
  [ -f "$COMPARE_RAW" ] || die "--compare: no raw data at $COMPARE_RAW (give an earlier report .md or its .raw.jsonl)"
  [ "$COMPARE_RAW" != "${OUT%.md}.raw.jsonl" ] || die "--compare names this run's own output ($OUT): pass another --out"
fi
IFS=, read -r -a PEERS <<<"$PROXIES"
for p in "${PEERS[@]}"; do
  case "$p" in haproxy|nginx|balance) ;; *) die "unknown proxy '$p' in --proxies" ;; esac
done
IFS=, read -r -a SCENARIOS <<<"${SCENARIO_LIST:-$ALL_SCENARIOS}"
for sc in "${SCENARIOS[@]}"; do
  [[ ",$ALL_SCENARIOS," = *",$sc,"* ]] || die "unknown scenario '$sc' in --scenarios (known: $ALL_SCENARIOS)"
done
has_peer() { local p; for p in "${PEERS[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }
if [ -n "$BASELINE_BIN" ]; then
  [ -x "$BASELINE_BIN" ] || die "--baseline-bin '$BASELINE_BIN' is not an executable file"
  BASELINE_BIN=$(cd "$(dirname "$BASELINE_BIN")" && pwd)/$(basename "$BASELINE_BIN")
  PEERS+=(baseline)
fi

T_START=$(date +%s)
SCRATCH=$(mktemp -d /tmp/balance-bench.XXXXXX)
RAW="$SCRATCH/raw.jsonl"
META="$SCRATCH/meta.json"
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM
log "scratch directory: $SCRATCH"

# ------------------------------------------------------------------ tools
[ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs (proxy on CPU 0, load on CPU 1); nproc=$(nproc)"
# The default mode gives the proxy CPU 0 alone and the load CPU 1; the scaling mode (--workers N,
# N > 1) leaves every process on every CPU the harness may use, as a multi-core deployment would.
ALL_CPUS=$(taskset -pc $$ | sed 's/.*: *//')
if [ "$WORKERS" = 1 ]; then PROXY_CPUS=0 LOAD_CPUS=1
else PROXY_CPUS=$ALL_CPUS LOAD_CPUS=$ALL_CPUS; fi
[ "$WORKERS" -le "$(nproc)" ] || log "WARNING: --workers $WORKERS is more than the $(nproc) CPUs this run may use"
for t in taskset ss timeout python3; do
  command -v "$t" >/dev/null || die "required tool '$t' is missing (util-linux / iproute2 / coreutils / python3)"
done
python3 -c 'import sys; sys.exit(sys.version_info < (3, 8))' || die "python3 >= 3.8 is required"
ensure_tools   # iperf3, wrk, haproxy, nginx + stream module (apt-get when missing)

# ------------------------------------------------------------------ balance binary
if has_peer balance; then
  if [ -n "$BALANCE_BIN" ]; then
    [ -x "$BALANCE_BIN" ] || die "--balance-bin '$BALANCE_BIN' is not an executable file"
    BALANCE_BIN=$(cd "$(dirname "$BALANCE_BIN")" && pwd)/$(basename "$BALANCE_BIN")
  else
    command -v dotnet >/dev/null || die "dotnet is not installed: pass --balance-bin PATH or --proxies haproxy,nginx"
    [ -d "$REPO/Balance.Engine" ] || die "$REPO/Balance.Engine not found: pass --balance-bin PATH or --proxies haproxy,nginx"
    log "building Balance.Engine (dotnet publish -c Release)"
    if ! DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 timeout 600 \
        dotnet publish "$REPO/Balance.Engine" -c Release -o "$SCRATCH/balance-bin" \
        --artifacts-path "$SCRATCH/artifacts" \
        >"$SCRATCH/balance-build.log" 2>&1; then
      tail -n 30 "$SCRATCH/balance-build.log" >&2
      die "dotnet publish failed (log above): pass --balance-bin PATH or --proxies haproxy,nginx"
    fi
    BALANCE_BIN="$SCRATCH/balance-bin/balance"
    [ -x "$BALANCE_BIN" ] || die "dotnet publish succeeded but $BALANCE_BIN is missing (AssemblyName should be 'balance')"
  fi
  log "balance binary: $BALANCE_BIN"
fi

# ------------------------------------------------------------------ pinning, limits
taskset -pc "$LOAD_CPUS" $$ >/dev/null || die "taskset failed (cannot pin the harness to CPU $LOAD_CPUS)"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
IDLE_CAP=$(( (NOFILE - 1000) / 2 ))   # a proxy needs 2 descriptors per connection
[ "$IDLE_CAP" -gt 9000 ] && IDLE_CAP=9000
NOTES=()
if [ -z "$IDLE_N" ]; then
  IDLE_N=$IDLE_CAP
  [ "$IDLE_N" -lt 9000 ] && NOTES+=("idle test capped at $IDLE_N connections by the open-files limit ($NOFILE)")
elif [ "$IDLE_N" -gt "$IDLE_CAP" ]; then
  NOTES+=("idle test asked for $IDLE_N connections, capped at $IDLE_CAP by the open-files limit ($NOFILE)")
  IDLE_N=$IDLE_CAP
fi

# A benchmark on a busy machine measures the other load: say so in the report.
BUSY=$(machine_busy_pct)
if [ "$BUSY" -ge 15 ]; then
  log "WARNING: the machine is already ${BUSY}% busy (other processes); results will be noisy"
  NOTES+=("before the run the machine was already ${BUSY}% busy with other processes: treat the numbers as noisy")
fi

# ------------------------------------------------------------------ backends
P_B1=$(pick_port); P_B2=$(pick_port); P_IPERF=$(pick_port)
mkdir -p "$SCRATCH/backend"
# the backend scales with the proxies, so that it does not cap the scaling mode
write_backend_nginx_conf "$SCRATCH/backend" "$P_B1" "$P_B2" "$WORKERS"
start_bg backend-nginx "$LOAD_CPUS" "$SCRATCH/backend/stdout.log" \
  nginx -p "$SCRATCH/backend" -e "$SCRATCH/backend/error.log" -c "$SCRATCH/backend/nginx.conf"
BACKEND_PID=$STARTED_PID
start_bg iperf3-server "$LOAD_CPUS" "$SCRATCH/iperf3-server.log" \
  iperf3 -s -B 127.0.0.1 -p "$P_IPERF" --idle-timeout 30 --rcv-timeout 10000
IPERF_SERVER_PID=$STARTED_PID
for port in "$P_B1" "$P_B2"; do
  wait_listen "$port" "$BACKEND_PID" || {
    cat "$SCRATCH/backend/error.log" "$SCRATCH/backend/stdout.log" >&2 2>/dev/null || true
    die "backend nginx did not listen on 127.0.0.1:$port (log above)"; }
done
wait_listen "$P_IPERF" "$IPERF_SERVER_PID" || {
  cat "$SCRATCH/iperf3-server.log" >&2 || true; die "iperf3 server did not start (log above)"; }
log "backends: http 127.0.0.1:$P_B1 and :$P_B2, iperf3 127.0.0.1:$P_IPERF"

# ------------------------------------------------------------------ proxies (CPU 0, or all in the scaling mode)
declare -A HTTP_PORT IPERF_PORT HTTP_PID IPERF_PID DEAD
HTTP_PORT[direct]=$P_B1; IPERF_PORT[direct]=$P_IPERF; HTTP_PID[direct]=0; IPERF_PID[direct]=0
for p in "${PEERS[@]}"; do
  for kind in http iperf; do
    port=$(pick_port)
    if [ "$kind" = http ]; then b1=$P_B1 b2=$P_B2; else b1=$P_IPERF b2=$P_IPERF; fi
    start_proxy "$p" "$kind" "$port" "$b1" "$b2"   # sets STARTED_PID
    if [ "$kind" = http ]; then HTTP_PORT[$p]=$port HTTP_PID[$p]=$STARTED_PID
    else IPERF_PORT[$p]=$port IPERF_PID[$p]=$STARTED_PID; fi
  done
  probe=$(timeout 20 python3 "$LIB/benchlib.py" probe --port "${HTTP_PORT[$p]}" --count 4) \
    || die "$p does not relay HTTP on 127.0.0.1:${HTTP_PORT[$p]}: $probe (logs in $SCRATCH/$p-*)"
  log "$p: http :${HTTP_PORT[$p]} (pid ${HTTP_PID[$p]}), iperf :${IPERF_PORT[$p]} (pid ${IPERF_PID[$p]}); probe $probe"
  case "$probe" in *"$P_B1"*"$P_B2"*|*"$P_B2"*"$P_B1"*) ;;
    *) NOTES+=("$p answered from one backend only in the start-up probe: $probe") ;; esac
done
SLOTS=(direct "${PEERS[@]}")

write_meta() {   # $1 = wall seconds (optional)
  python3 - "$META" "$1" <<EOF
import json, sys
meta = {"started": "$(date -u -d "@$T_START" '+%Y-%m-%d %H:%M UTC')", "reps": $REPS,
        "duration": $DURATION, "idle_n": $IDLE_N, "rate": $RATE, "rate_conns": $RATE_CONNS,
        "workers": $WORKERS, "cpus": "$ALL_CPUS",
        "pinning": "$(if [ "$WORKERS" = 1 ]; then echo "proxy CPU 0, load and backends CPU 1"; else echo "none: proxies, load and backends on CPUs $ALL_CPUS"; fi)",
        "proxies": $(printf '%s\n' "${SLOTS[@]}" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().split()))'),
        "versions": $(tool_versions_json),
        "machine": "$(nproc --all) CPUs, $(uname -r), $(. /etc/os-release; echo "$PRETTY_NAME"), nofile $NOFILE",
        "notes": $(printf '%s\n' "${NOTES[@]+"${NOTES[@]}"}" | python3 -c 'import json,sys; print(json.dumps([l for l in sys.stdin.read().splitlines() if l]))')}
if sys.argv[2]:
    meta["wall_secs"] = float(sys.argv[2])
json.dump(meta, open(sys.argv[1], "w"), indent=1)
EOF
}
write_meta ""

# ------------------------------------------------------------------ scenarios
WARMUP=2; [ "$QUICK" = 1 ] && WARMUP=1
SLICE=2; [ "$DURATION" -lt 4 ] && SLICE=1

run_one() {   # scenario slot rep
  local scen=$1 slot=$2 rep=$3 pid port
  if [ "$slot" != direct ] && [ -n "${DEAD[$slot]:-}" ]; then
    log "  $slot is dead since ${DEAD[$slot]}; skipping $scen"
    echo "{\"scenario\":\"$scen\",\"proxy\":\"$slot\",\"rep\":$rep,\"ok\":false,\"error\":\"proxy died during ${DEAD[$slot]}\"}" >>"$RAW"
    return
  fi
  local common=(--proxy "$slot" --rep "$rep" --raw "$RAW" --duration "$DURATION")
  case "$scen" in
    bulk_*) pid=${IPERF_PID[$slot]} port=${IPERF_PORT[$slot]}
            bl timeout $((DURATION * 3 + 120)) bulk --scenario "$scen" --streams "${scen#bulk_}" \
              --port "$port" --pid "$pid" "${common[@]}" ;;
    idle) pid=${HTTP_PID[$slot]} port=${HTTP_PORT[$slot]}
            bl timeout 300 idle --n "$IDLE_N" --inflight 200 --timeout 180 \
              --backend-ports "$P_B1,$P_B2" --port "$port" --pid "$pid" "${common[@]}"
            wait_drained "$P_B1,$P_B2" 30 ;;
  esac
  if [ "$slot" != direct ]; then
    for pid in "${HTTP_PID[$slot]}" "${IPERF_PID[$slot]}"; do
      if ! kill -0 "$pid" 2>/dev/null; then
        DEAD[$slot]="$scen (rep $rep)"
        log "  !! $slot (pid $pid) died during $scen; see $SCRATCH/$slot-*.log"
      fi
    done
  fi
}

run_interleaved() {   # scenario rep slot... : one client takes turns over every live slot
  local scen=$1 rep=$2 slot targets=() dead_slots=()
  shift 2
  for slot in "$@"; do
    if [ "$slot" != direct ] && [ -n "${DEAD[$slot]:-}" ]; then
      dead_slots+=("$slot")
    else
      targets+=(--target "$slot:${HTTP_PORT[$slot]}:${HTTP_PID[$slot]}")
    fi
  done
  for slot in "${dead_slots[@]+"${dead_slots[@]}"}"; do
    log "  $slot is dead since ${DEAD[$slot]}; skipping $scen"
    echo "{\"scenario\":\"$scen\",\"proxy\":\"$slot\",\"rep\":$rep,\"ok\":false,\"error\":\"proxy died during ${DEAD[$slot]}\"}" >>"$RAW"
  done
  [ ${#targets[@]} -gt 0 ] || return 0
  local common=(--scenario "$scen" --rep "$rep" --raw "$RAW" --duration "$DURATION" "${targets[@]}")
  local n=$(( ${#targets[@]} / 2 ))
  case "$scen" in
    # per slot: a warm-up, then DURATION s measured in turns of SLICE s
    # (wrk threads = WORKERS, so that in the scaling mode the client scales with the proxies)
    http_ka_c50) bl timeout $(( (DURATION * 2 + WARMUP + 4) * n + 60 )) http --conns 50 \
                   --threads "$WORKERS" --warmup "$WARMUP" --slice "$SLICE" "${common[@]}" ;;
    # one connection, one request at a time: the latency of one request through an idle proxy
    http_ka_c1) bl timeout $(( (DURATION * 2 + WARMUP + 4) * n + 60 )) http --conns 1 \
                   --threads 1 --warmup "$WARMUP" --slice "$SLICE" "${common[@]}" ;;
    http_close_c50) bl timeout $(( (DURATION * 2 + WARMUP + 4) * n + 60 )) http --conns 50 --close \
                   --threads "$WORKERS" --warmup "$WARMUP" --slice "$SLICE" "${common[@]}" ;;
    # every slot at once, requests interleaved one by one: 1 s warm-up, then the time the slots
    # would have had one after the other (DURATION s each), so each slot is measured n times longer
    latency_fixed) bl timeout $(( DURATION * n * 2 + 60 )) latency --rate "$RATE" \
                   --conns "$RATE_CONNS" "${common[@]}" --duration $(( DURATION * n )) ;;
  esac
  for slot in "$@"; do
    [ "$slot" = direct ] || kill -0 "${HTTP_PID[$slot]}" 2>/dev/null \
      || { [ -n "${DEAD[$slot]:-}" ] || DEAD[$slot]="$scen (rep $rep)"; }
  done
}

bl() {   # timeout SECS subcommand args... : run a benchlib measurement, summarise its line
  local secs=$2; shift 2
  local line="" rc=0
  # in the background + wait, so that INT/TERM interrupt the wait and cleanup runs at once
  timeout "$secs" python3 "$LIB/benchlib.py" "$@" >"$SCRATCH/last.json" &
  CUR_PID=$!
  wait "$CUR_PID" || rc=$?
  CUR_PID=""
  [ "$rc" = 124 ] && log "  measurement timed out after ${secs}s"
  while IFS= read -r line; do log "  ${line:0:400}"; done <"$SCRATCH/last.json"
}

# The bulk runs go one slot after the other, so each proxy's iperf instance gets an unmeasured
# second of traffic first: a fresh process would otherwise be measured while its code compiles.
case ",${SCENARIOS[*]}," in *bulk_*)
  for slot in "${SLOTS[@]}"; do
    [ "$slot" = direct ] && continue
    timeout 30 iperf3 -c 127.0.0.1 -p "${IPERF_PORT[$slot]}" -t 1 >/dev/null 2>&1 \
      || log "  bulk warm-up through $slot failed (the measured runs will say why)"
  done ;;
esac

TOTAL=$(( REPS * ${#SCENARIOS[@]} * ${#SLOTS[@]} )) N=0
for ((rep = 1; rep <= REPS; rep++)); do
  shift_by=$(( (rep - 1) % ${#SLOTS[@]} ))
  ORDER=("${SLOTS[@]:shift_by}" "${SLOTS[@]:0:shift_by}")
  log "rep $rep/$REPS, order: ${ORDER[*]}"
  for scen in "${SCENARIOS[@]}"; do
    case "$scen" in http_ka_c50|http_ka_c1|http_close_c50|latency_fixed)
      N=$((N + ${#ORDER[@]}))
      log "[$N/$TOTAL] rep $rep $scen, taking turns: ${ORDER[*]}"
      run_interleaved "$scen" "$rep" "${ORDER[@]}"
      sleep 1
      continue ;;
    esac
    for slot in "${ORDER[@]}"; do
      N=$((N + 1))
      log "[$N/$TOTAL] rep $rep $scen $slot"
      run_one "$scen" "$slot" "$rep"
      sleep 1
    done
  done
done

write_meta "$(( $(date +%s) - T_START ))"
mkdir -p "$(dirname "$OUT")"
python3 "$LIB/benchlib.py" report --raw "$RAW" --meta "$META" --out "$OUT"
cp "$RAW" "${OUT%.md}.raw.jsonl" 2>/dev/null || true
cp "$META" "${OUT%.md}.meta.json" 2>/dev/null || true   # read by report --compare
if [ -n "$COMPARE" ]; then
  python3 "$LIB/benchlib.py" compare "$COMPARE_RAW" "${OUT%.md}.raw.jsonl" >>"$OUT" \
    || log "WARNING: the comparison with $COMPARE failed"
  sed -n '/^## Scaling/,$p' "$OUT"
fi
log "wrote $OUT (raw data: ${OUT%.md}.raw.jsonl) in $(( $(date +%s) - T_START )) s"
