#!/usr/bin/env bash
# Failover scenario, apart from run.sh: one of two back-ends is killed and restarted under
# keep-alive and new-connection load behind Balance with health checks (--check-interval 1s
# --rise 2 --fall 2), Balance without checks, haproxy (check inter 1s fall 2 rise 2) and nginx stream
# (max_fails=2 fail_timeout=2s); counts the errors clients saw and the seconds until the restarted
# back-end serves again; then the CPU of checking 1,000 channels every second (docs/health.md).
#
# Usage: bash bench/failover.sh [--balance-bin PATH] [--down S] [--after S] [--cost-seconds S] [--out FILE]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
source "$HERE/lib/common.sh"

BALANCE_BIN="" ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --balance-bin) BALANCE_BIN=${2:?--balance-bin needs a path}; shift 2 ;;
    --down|--after|--cost-seconds|--out|--proxies) ARGS+=("$1" "${2:?$1 needs a value}"); shift 2 ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done

for tool in haproxy nginx python3; do
  command -v "$tool" >/dev/null || die "$tool is not installed (bench/run.sh installs the peers: ensure_tools)"
done
NGX_STREAM_LOAD=$(stream_module) || die "nginx has no stream module (apt-get install libnginx-mod-stream)"

SCRATCH=$(mktemp -d /tmp/balance-failover.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
resolve_balance_bin "$SCRATCH"

python3 "$HERE/lib/failover.py" run --balance-bin "$BALANCE_BIN" --nginx-stream-load "$NGX_STREAM_LOAD" "${ARGS[@]+"${ARGS[@]}"}"
