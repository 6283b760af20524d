#!/usr/bin/env bash
# Active/active in network namespaces (issue 19, item 3): 3 Balance nodes hold the same address
# (on lo) and run the same Maglev group over 5 back-ends; a client namespace reaches the address
# over an ECMP route with layer-4 hashing. 10,000 flows (one client address each, from an IPv6
# /64 routed as local) must reach the same back-end whichever node they cross; then one node's
# nexthop is removed (plain multipath, then a resilient nexthop group) and one back-end is
# disabled on every node. Prints markdown tables (docs/scale-out.md). Needs root.
#
# Usage: bash bench/topology-ecmp.sh [--balance-bin PATH] [--flows N] [--sessions N]
#            [--concurrency C] [--budget SECS] [--out FILE] [--keep]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
NS_PREFIX=bal-ec
source "$HERE/lib/netns.sh"

BALANCE_BIN="" FLOWS=10000 SESSIONS=300 CONC=200 BUDGET=900 OUT="" KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --balance-bin) BALANCE_BIN=${2:?--balance-bin needs a path}; shift 2 ;;
    --flows) FLOWS=${2:?--flows needs a number}; shift 2 ;;
    --sessions) SESSIONS=${2:?--sessions needs a number}; shift 2 ;;
    --concurrency) CONC=${2:?--concurrency needs a number}; shift 2 ;;
    --budget) BUDGET=${2:?--budget needs seconds}; shift 2 ;;
    --out) OUT=${2:?--out needs a file}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n 2,10p "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for v in FLOWS SESSIONS CONC BUDGET; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--${v,,} must be a positive whole number, not '${!v}'"
done
[ "$FLOWS" -le 60000 ] || die "--flows is at most 60000 (the client's source addresses)"

ns_require_root
command -v python3 >/dev/null || die "python3 is not installed"
ns_lock /run/balance-topology.lock
ns_traps
ns_deadline "$BUDGET"
SCRATCH=$(mktemp -d /tmp/balance-topology-ecmp.XXXXXX)
BALANCE_BIN=$(ns_balance_bin "$REPO" "$BALANCE_BIN")
ns_remove_leftovers

VIP=2001:db8:f::1        # the shared service address, on every node's lo
NET6=2001:db8:1:         # the switch's IPv6 subnet (client ::10, nodes ::11-::13)
NET4=192.0.2             # the switch's IPv4 subnet (nodes .11-.13, back-ends .20)
CLIENTS=2001:db8:c::     # the client's source addresses: a /64 routed as local in the client ns
PORT=8080
NODES=3

log "building the topology ($NS_PREFIX-*)"
ns_switch sw
for m in cli be n1 n2 n3; do ns_add "$m"; ns_plug sw "$m"; done
ns_exec cli ip -6 addr add "${NET6}:10/64" dev eth0 nodad
ns_exec cli ip -6 route add local "${CLIENTS}/64" dev lo
ns_exec cli sysctl -qw net.ipv6.ip_nonlocal_bind=1 net.ipv6.fib_multipath_hash_policy=1
ns_exec be ip addr add "$NET4.20/24" dev eth0
for k in 1 2 3; do
  ns_exec "n$k" ip addr add "$NET4.1$k/24" dev eth0
  ns_exec "n$k" ip -6 addr add "${NET6}:1$k/64" dev eth0 nodad
  ns_exec "n$k" ip -6 addr add "$VIP/128" dev lo
  ns_exec "n$k" ip -6 route add "${CLIENTS}/64" via "${NET6}:10"
  # fwmark k sends a flow through node k alone: the per-node mapping the ECMP one is compared with.
  ns_exec cli ip -6 rule add fwmark "$k" table "10$k"
  ns_exec cli ip -6 route add "$VIP/128" via "${NET6}:1$k" dev eth0 table "10$k"
  ns_exec cli ip nexthop add id "$k" via "${NET6}:1$k" dev eth0
done
MULTIPATH=(ip -n "$NS_PREFIX-cli" -6 route replace "$VIP/128"
           nexthop via "${NET6}:11" dev eth0 nexthop via "${NET6}:12" dev eth0 nexthop via "${NET6}:13" dev eth0)
"${MULTIPATH[@]}"

log "starting 5 back-ends and $NODES Balance nodes"
ns_start backends be "$SCRATCH/backends.log" python3 "$HERE/lib/topology.py" backends "$NET4.20" \
  9001 s1 9002 s2 9003 s3 9004 s4 9005 s5
BE_PID=$STARTED_PID
ns_wait_listen be "$NET4.20" 9005 "$BE_PID" || { cat "$SCRATCH/backends.log" >&2; die "the back-ends did not start"; }
for k in 1 2 3; do
  mkdir -p "$SCRATCH/n$k"
  # Each node has its own segment directory: the namespaces share one file system, and the
  # nodes' instances have the same address and port.
  ns_start "balance-n$k" "n$k" "$SCRATCH/n$k/balance.log" env BALANCE_SEGMENT_DIR="$SCRATCH/n$k" \
    "$BALANCE_BIN" -f --workers 1 --policy maglev -b "$VIP" "$PORT" \
    "$NET4.20:9001" "$NET4.20:9002" "$NET4.20:9003" "$NET4.20:9004" "$NET4.20:9005"
  ns_wait_listen "n$k" "$VIP" "$PORT" "$STARTED_PID" \
    || { cat "$SCRATCH/n$k/balance.log" >&2; die "Balance on node $k did not listen on [$VIP]:$PORT"; }
done

python3 - "$SCRATCH/config.json" <<EOF
import json, sys
ns = "$NS_PREFIX"
multipath = """${MULTIPATH[*]}""".split()
resilient = [["ip", "-n", ns + "-cli", "nexthop", "replace", "id", "100", "group", "1/2/3", "type", "resilient",
              "buckets", "128", "idle_timer", "0"],
             ["ip", "-n", ns + "-cli", "-6", "route", "replace", "$VIP/128", "nhid", "100"]]
cfg = {
  "vip": "$VIP", "port": $PORT, "flows": $FLOWS, "sessions": $SESSIONS, "concurrency": $CONC,
  "timeout": 5.0, "client_prefix": "$CLIENTS", "removed_node": 0,
  "removed_backend": 2, "removed_backend_name": "s3",
  "nodes": [{"addr4": "$NET4.1%d" % k, "mark": k,
             "control": ["ip", "netns", "exec", f"{ns}-n{k}", "env", f"BALANCE_SEGMENT_DIR=$SCRATCH/n{k}",
                         "$BALANCE_BIN", "-b", "$VIP", "-c"]} for k in (1, 2, 3)],
  # (name, set-up, remove node 1, restore)
  "route_variants": [
    ["multipath route (hash-threshold)", [multipath],
     [["ip", "-n", ns + "-cli", "-6", "route", "replace", "$VIP/128",
       "nexthop", "via", "${NET6}:12", "dev", "eth0", "nexthop", "via", "${NET6}:13", "dev", "eth0"]],
     [multipath]],
    ["resilient nexthop group (128 buckets)", resilient,
     [["ip", "-n", ns + "-cli", "nexthop", "replace", "id", "100", "group", "2/3", "type", "resilient",
       "buckets", "128", "idle_timer", "0"]],
     [multipath]],
  ],
}
json.dump(cfg, open(sys.argv[1], "w"), indent=1)
EOF

log "measuring ($FLOWS flows, $SESSIONS long-lived sessions)"
ns_measure ecmp "Active/active: $NODES nodes over ECMP ($(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r))"
