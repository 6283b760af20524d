#!/usr/bin/env bash
# Active/standby in network namespaces (issue 19, item 3): two Balance nodes and keepalived
# (VRRP, unicast peers) moving two virtual addresses between them: VIP1 is node 1's, VIP2 node 2's,
# and each node's Balance already listens on both (net.ipv4.ip_nonlocal_bind=1 in its namespace),
# so a takeover needs nothing but the address. Node 1 fails under load, three ways, several times:
# Balance killed (keepalived's check script notices), the node cut off (its link down), Balance and
# keepalived killed together. Measures how long new connections to VIP1 fail and whether the
# sessions node 2 holds on VIP2 stay up. Prints a markdown table (docs/scale-out.md). Needs root.
#
# Usage: bash bench/topology-standby.sh [--balance-bin PATH] [--advert-int S] [--reps N]
#            [--sessions N] [--budget SECS] [--out FILE] [--keep]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
NS_PREFIX=bal-sb
source "$HERE/lib/netns.sh"

BALANCE_BIN="" ADVERT=1 REPS=3 SESSIONS=20 BUDGET=900 OUT="" KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --balance-bin) BALANCE_BIN=${2:?--balance-bin needs a path}; shift 2 ;;
    --advert-int) ADVERT=${2:?--advert-int needs seconds}; shift 2 ;;
    --reps) REPS=${2:?--reps needs a number}; shift 2 ;;
    --sessions) SESSIONS=${2:?--sessions needs a number}; shift 2 ;;
    --budget) BUDGET=${2:?--budget needs seconds}; shift 2 ;;
    --out) OUT=${2:?--out needs a file}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    -h|--help) sed -n 2,12p "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
for v in REPS SESSIONS BUDGET; do
  [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "--${v,,} must be a positive whole number, not '${!v}'"
done
[[ $ADVERT =~ ^([0-9]+(\.[0-9]{1,2})?)$ ]] && python3 -c "import sys; sys.exit(not 0.01 <= float('$ADVERT') <= 255)" \
  || die "--advert-int must be seconds between 0.01 and 255 with at most two decimals, not '$ADVERT'"

ns_require_root
for tool in python3 keepalived; do
  command -v "$tool" >/dev/null || die "$tool is not installed (apt-get install -y $tool)"
done
ns_lock /run/balance-topology.lock
ns_traps
ns_deadline "$BUDGET"
SCRATCH=$(mktemp -d /tmp/balance-topology-standby.XXXXXX)
BALANCE_BIN=$(ns_balance_bin "$REPO" "$BALANCE_BIN")
ns_remove_leftovers

NET4=192.0.2          # client .10, nodes .11 and .12, back-ends .20
VIP1=$NET4.100        # node 1's address (VRRP instance VI_1, priority 250 on node 1, 200 on node 2)
VIP2=$NET4.101        # node 2's address (VI_2, the other way round)
PORT=8080

log "building the topology ($NS_PREFIX-*)"
ns_switch sw
for m in cli be n1 n2; do ns_add "$m"; ns_plug sw "$m"; done
ns_exec cli ip addr add "$NET4.10/24" dev eth0
ns_exec be ip addr add "$NET4.20/24" dev eth0

ns_start backends be "$SCRATCH/backends.log" python3 "$HERE/lib/topology.py" backends "$NET4.20" \
  9001 s1 9002 s2 9003 s3
ns_wait_listen be "$NET4.20" 9003 "$STARTED_PID" || { cat "$SCRATCH/backends.log" >&2; die "the back-ends did not start"; }

for k in 1 2; do
  d="$SCRATCH/n$k" peer=$((3 - k))
  mkdir -p "$d"
  ns_exec "n$k" ip addr add "$NET4.1$k/24" dev eth0
  # Balance listens on both VIPs before it holds either: the takeover is the address alone.
  ns_exec "n$k" sysctl -qw net.ipv4.ip_nonlocal_bind=1
  # A link named per node tells the nodes' Balance processes apart in ps (the namespaces share
  # one process table). keepalived's track_process would need the kernel's process connector,
  # which only the initial network namespace has, so a check script looks at the pids instead.
  ln -s "$BALANCE_BIN" "$d/balance-n$k"
  cat >"$d/start-balance.sh" <<EOF
#!/bin/sh
# Node $k's two Balance instances (VIP1, VIP2), in the background; their pids go to balance.pids.
cd "$d" && : >balance.pids
for vip in $VIP1 $VIP2; do
  BALANCE_SEGMENT_DIR="$d" ./balance-n$k -f --workers 1 --policy maglev -b "\$vip" $PORT \\
    $NET4.20:9001 $NET4.20:9002 $NET4.20:9003 >>"balance-\$vip.log" 2>&1 </dev/null &
  echo \$! >>balance.pids
done
EOF
  cat >"$d/keepalived.conf" <<EOF
global_defs {
  router_id bal-n$k
  vrrp_version 3
  script_user root
  enable_script_security
}
vrrp_script balance {
  script "$d/check-balance.sh"
  interval 1
  timeout 1
  fall 1
  rise 1
}
EOF
  cat >"$d/check-balance.sh" <<EOF
#!/bin/sh
# keepalived's check of node $k: both Balance instances run (their pids are in balance.pids).
# A killed process stays a zombie until its new parent reaps it, so its state must not be Z.
for p in \$(cat "$d/balance.pids"); do
  state=\$(cut -d' ' -f3 "/proc/\$p/stat" 2>/dev/null) || exit 1
  [ -n "\$state" ] && [ "\$state" != Z ] || exit 1
done
EOF
  chmod 755 "$d/check-balance.sh"
  for vi in 1 2; do
    if [ "$vi" = "$k" ]; then prio=250; else prio=200; fi
    vip=$VIP1; [ "$vi" = 2 ] && vip=$VIP2
    cat >>"$d/keepalived.conf" <<EOF
vrrp_instance VI_$vi {
  state BACKUP
  interface eth0
  virtual_router_id 5$vi
  priority $prio
  advert_int $ADVERT
  unicast_src_ip $NET4.1$k
  unicast_peer {
    $NET4.1$peer
  }
  virtual_ipaddress {
    $vip/24 dev eth0
  }
  track_script {
    balance
  }
}
EOF
  done
  cat >"$d/start-keepalived.sh" <<EOF
#!/bin/sh
# Node $k's keepalived, VRRP only, not forking, its own pid files and log; in the background.
cd "$d" && exec keepalived -n -l -D -P -f "$d/keepalived.conf" -p "$d/keepalived.pid" \\
  -r "$d/vrrp.pid" >>keepalived.log 2>&1 </dev/null &
EOF
  ns_exec "n$k" sh "$d/start-balance.sh"
  ns_wait_listen "n$k" "$VIP2" "$PORT" "$(tail -n1 "$d/balance.pids")" \
    || { cat "$d"/balance-*.log >&2; die "Balance on node $k did not listen on $VIP1 and $VIP2"; }
  ns_exec "n$k" sh "$d/start-keepalived.sh"
done

python3 - "$SCRATCH/config.json" <<EOF
import json, sys
ns, d1 = "$NS_PREFIX", "$SCRATCH/n1"
kill_balance = ["sh", "-c", f"kill -9 \$(cat {d1}/balance.pids)"]
kill_keepalived = ["sh", "-c", f"kill -9 \$(cat {d1}/vrrp.pid {d1}/keepalived.pid)"]
start_balance = ["ip", "netns", "exec", ns + "-n1", "sh", d1 + "/start-balance.sh"]
start_keepalived = ["ip", "netns", "exec", ns + "-n1", "sh", d1 + "/start-keepalived.sh"]
cfg = {
  "ns1": ns + "-n1", "ns2": ns + "-n2", "vip1": "$VIP1", "vip2": "$VIP2", "port": $PORT,
  "node1_addr": "$NET4.11", "node2_addr": "$NET4.12", "advert_int": float("$ADVERT"),
  "probe_workers": 8, "probe_timeout": 0.2, "probe_pause": 0.02, "trial_secs": 30,
  "reps": $REPS, "sessions": $SESSIONS,
  "failures": [
    {"name": "Balance killed (kill -9), found by the check script", "fail": [kill_balance],
     "restore": [start_balance]},
    {"name": "node cut off (its link down)", "fail": [["ip", "-n", ns + "-n1", "link", "set", "eth0", "down"]],
     "restore": [["ip", "-n", ns + "-n1", "link", "set", "eth0", "up"]]},
    {"name": "Balance and keepalived killed (kill -9)", "fail": [kill_keepalived, kill_balance],
     "restore": [start_balance, start_keepalived]},
  ],
}
json.dump(cfg, open(sys.argv[1], "w"), indent=1)
EOF

log "measuring ($REPS reps of 3 failures, advert_int $ADVERT s)"
ns_measure standby "Active/standby: 2 nodes, keepalived $(keepalived --version 2>&1 | head -n1 | awk '{print $2}') ($(date -u '+%Y-%m-%d %H:%M UTC'), kernel $(uname -r))"
