#!/usr/bin/env bash
# What scraping /metrics costs the proxy: keep-alive HTTP load through Balance (wrk, c=50) with
# and without 50 clients scraping its metrics endpoint in a loop, runs alternated; prints each
# run's request rate and the ratio of the medians (1.00 = scraping costs nothing).
# Usage: bash bench/scrape.sh [--reps N] [--duration S] [--scrapers N] [--balance-bin PATH]
# Balance (with its metrics threads) runs alone on CPU 0; wrk, the back-end and the scrapers on CPU 1.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
LIB="$HERE/lib"
# shellcheck source=lib/common.sh
source "$LIB/common.sh"

REPS=3 DURATION=5 SCRAPERS=50 BALANCE_BIN="" KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --reps) REPS=${2:?--reps needs a value}; shift 2 ;;
    --duration) DURATION=${2:?--duration needs a value}; shift 2 ;;
    --scrapers) SCRAPERS=${2:?--scrapers needs a value}; shift 2 ;;
    --balance-bin) BALANCE_BIN=${2:?--balance-bin needs a path}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown option: $1 (see --help)" ;;
  esac
done
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 120 ] || die "--duration must be 1-120 seconds"
[ "$REPS" -ge 1 ] && [ "$REPS" -le 20 ] || die "--reps must be 1-20"

SCRATCH=$(mktemp -d /tmp/balance-scrape.XXXXXX)
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM
[ "$(nproc)" -ge 2 ] || die "needs at least 2 CPUs (proxy on CPU 0, load on CPU 1); nproc=$(nproc)"
for t in taskset ss timeout python3 wrk nginx; do
  command -v "$t" >/dev/null || die "required tool '$t' is missing (bench/run.sh installs wrk and nginx)"
done

resolve_balance_bin "$SCRATCH"

NOFILE=$(ulimit -n)
B1=$(pick_port) B2=$(pick_port) PORT=$(pick_port) MPORT=$(pick_port)
write_backend_nginx_conf "$SCRATCH/backend" "$B1" "$B2"
start_bg backend 1 "$SCRATCH/backend.log" nginx -p "$SCRATCH/backend" -c "$SCRATCH/backend/nginx.conf"
wait_listen "$B2" "$STARTED_PID" || die "the nginx back-end did not start (see $SCRATCH/backend.log)"
export BALANCE_SEGMENT_DIR="$SCRATCH/segments"
mkdir -p "$BALANCE_SEGMENT_DIR"
start_bg balance 0 "$SCRATCH/balance.log" "$BALANCE_BIN" -f -b 127.0.0.1 --metrics "127.0.0.1:$MPORT" "$PORT" "127.0.0.1:$B1" "127.0.0.1:$B2"
BALANCE_PID=$STARTED_PID
wait_listen "$MPORT" "$BALANCE_PID" || die "balance did not start (see $SCRATCH/balance.log)"
taskset -pc 1 $$ >/dev/null

measure() { # label: one wrk run; prints its requests per second
  local out
  out=$(taskset -c 1 timeout $((DURATION + 30)) wrk -t 1 -c 50 -d "${DURATION}s" "http://127.0.0.1:$PORT/" 2>&1)
  echo "$out" | awk '/^Requests\/sec:/ {print $2}'
}

log "warm-up"
measure >/dev/null
PLAIN=() SCRAPED=()
for ((r = 1; r <= REPS; r++)); do
  PLAIN+=("$(measure)")
  taskset -c 1 python3 "$LIB/scrapers.py" --port "$MPORT" --clients "$SCRAPERS" --seconds "$((DURATION + 2))" >"$SCRATCH/scrapers-$r.json" &
  SCRAPE_PID=$!
  sleep 1
  SCRAPED+=("$(measure)")
  wait "$SCRAPE_PID"
  log "rep $r: ${PLAIN[-1]} req/s alone, ${SCRAPED[-1]} req/s with $SCRAPERS scrapers ($(cat "$SCRATCH/scrapers-$r.json"))"
done

python3 - "${PLAIN[*]}" "${SCRAPED[*]}" "$SCRAPERS" "$DURATION" <<'PY'
import statistics, sys
plain = [float(x) for x in sys.argv[1].split()]
scraped = [float(x) for x in sys.argv[2].split()]
mp, ms = statistics.median(plain), statistics.median(scraped)
spread = (max(plain) - min(plain)) / mp if mp else 0
print(f"keep-alive c=50 through balance, {sys.argv[4]} s runs: median {mp:.0f} req/s alone, "
      f"{ms:.0f} req/s with {sys.argv[3]} clients scraping /metrics in a loop")
print(f"ratio (with / without): {ms / mp:.3f}   (run-to-run spread without scrapers: {spread:.1%})")
PY
