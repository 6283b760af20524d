#!/usr/bin/env bash
# Restart scenario, apart from run.sh: wrk keep-alive and connection-per-request (Connection:
# close) load through Balance while it is replaced 10 times by `balance --takeover`, and through
# haproxy 2.6 while it is reloaded 10 times seamlessly (-W master-worker, USR2, listeners passed
# by `stats socket ... expose-fd listeners`). Every wrk error (connect, read, write, timeout,
# non-2xx) is counted; the table goes to docs/restart.md. Exits 1 when Balance had an error.
#
# Usage: bash bench/restart.sh [--balance-bin PATH] [--restarts N] [--interval S] [--connections C] [--out FILE]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
source "$HERE/lib/common.sh"

BALANCE_BIN="" ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --balance-bin) BALANCE_BIN=${2:?--balance-bin needs a path}; shift 2 ;;
    --restarts|--interval|--connections|--out) ARGS+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    -h|--help) sed -n 2,8p "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

for tool in haproxy wrk python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed (bench/run.sh installs the peers: ensure_tools)"
done

SCRATCH=$(mktemp -d /tmp/balance-restart.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
resolve_balance_bin "$SCRATCH"

mkdir -p "$SCRATCH/run"
python3 "$HERE/lib/restart.py" --balance-bin "$BALANCE_BIN" --scratch "$SCRATCH/run" "${ARGS[@]+"${ARGS[@]}"}"
