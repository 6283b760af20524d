#!/usr/bin/env bash
# Bounded soak: one Balance engine on loopback, churning connections with byte-exact echo checks
# while channels are disabled, enabled, re-addressed and added. Prints bytes sent vs verified and
# exits non-zero if they differ. Usage: bash bench/soak.sh [--seconds N] [--workers N] [--balance-bin PATH]
# Default 300 s. Traffic goes to 127.0.0.1 only; every process is started and stopped by pid.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

BALANCE_BIN=""
ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --balance-bin) BALANCE_BIN=${2:?--balance-bin needs a path}; shift 2 ;;
    -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
    *) ARGS+=("$1"); shift ;;
  esac
done

if [ -z "$BALANCE_BIN" ]; then
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  echo "[soak] building Balance.Engine (Release)" >&2
  dotnet build "$REPO/Balance.Engine/Balance.Engine.csproj" -c Release -o "$out" -nologo -v q >&2
  BALANCE_BIN="$out/balance"
fi

python3 "$HERE/lib/soak.py" --balance-bin "$BALANCE_BIN" "${ARGS[@]}"
