#!/usr/bin/env bash
# Distribution run with real connections, apart from run.sh (issue 16, item 6): 5 loopback
# back-ends that answer each connection with their name, Balance (--policy maglev) and haproxy
# (balance source + hash-type consistent) in front of them, 10,000 clients each bound to its own
# 127.1.x.y source address; imbalance, the share of clients that move when one back-end is taken
# out at run time, and the share back on their first back-end once it returns (docs/policies.md).
#
# Usage: bash bench/distribution.sh [--balance-bin PATH] [--clients N] [--concurrency C] [--out FILE]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
source "$HERE/lib/common.sh"

BALANCE_BIN="" ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --balance-bin) BALANCE_BIN=${2:?--balance-bin needs a path}; shift 2 ;;
    --clients|--concurrency|--timeout|--out) ARGS+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

if ! command -v haproxy >/dev/null; then
  log "installing haproxy"
  timeout 300 env DEBIAN_FRONTEND=noninteractive apt-get install -y haproxy >/dev/null \
    || die "haproxy is not installed and apt-get install -y haproxy failed"
fi
command -v python3 >/dev/null || die "python3 is not installed"

SCRATCH=$(mktemp -d /tmp/balance-distribution.XXXXXX)
PY_PID=""
cleanup() {
  # distribution.py stops its own proxies on exit or TERM; this catches a wrapper killed first.
  if [ -n "$PY_PID" ] && kill -0 "$PY_PID" 2>/dev/null; then
    kill -TERM "$PY_PID" 2>/dev/null || true
    for _ in 1 2 3 4 5 6 7; do kill -0 "$PY_PID" 2>/dev/null || break; sleep 1; done
    kill -KILL "$PY_PID" 2>/dev/null || true
  fi
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

resolve_balance_bin "$SCRATCH"

# The whole measurement is bounded: three rounds per proxy, every connect and read with its own
# timeout inside, and the run as a whole by this one.
timeout -k 10 300 python3 "$HERE/lib/distribution.py" --balance-bin "$BALANCE_BIN" \
  "${ARGS[@]+"${ARGS[@]}"}" &
PY_PID=$!
wait "$PY_PID"
