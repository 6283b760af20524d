#!/usr/bin/env python3
"""Measurements of bench/topology-standby.sh and bench/topology-ecmp.sh (issue 19, item 3). The
shell scripts build the namespaces and start every process; this file is the back-ends and the
clients. Standard library only.

  topology.py backends ADDR PORT NAME [PORT NAME ...]
      one asyncio process serving every back-end: on connect each writes "NAME PEER\\n" (PEER = the
      address the connection came from, i.e. the Balance node that relayed it), then echoes lines.
  topology.py standby --config FILE.json
      active/standby: probes new connections to VIP1 and keeps sessions on both VIPs while the
      active node of VIP1 fails; prints one markdown table (run inside the client namespace).
  topology.py ecmp --config FILE.json
      active/active: 10,000 flows over an ECMP route, each flow's back-end through every node,
      a node's nexthop removed, a back-end disabled on every node; prints markdown tables.
"""
import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time

SO_MARK = getattr(socket, "SO_MARK", 36)


def log(msg):
    print(f"[topology.py {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd, check=True):
    """One command of the topology (ip, kill, balance -c); every one has a timeout."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=20)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {r.returncode}: {r.stdout}{r.stderr}".strip())
    return r.stdout


# ---------------------------------------------------------------- back-ends
async def serve_backends(addr, pairs):
    def handler(name):
        async def handle(reader, writer):
            peer = writer.get_extra_info("peername")[0]
            try:
                writer.write(f"{name} {peer}\n".encode())
                await writer.drain()
                while True:
                    line = await reader.readline()
                    if not line:
                        break
                    writer.write(line)
                    await writer.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                writer.close()
        return handle

    servers = [await asyncio.start_server(handler(name), addr, int(port), backlog=4096,
                                          reuse_address=True) for port, name in pairs]
    log(f"back-ends {', '.join(n for _, n in pairs)} listen on {addr}")
    await asyncio.gather(*(s.serve_forever() for s in servers))


# ---------------------------------------------------------------- client pieces
async def connect(dst, port, src=None, mark=0, timeout=2.0):
    """A TCP connection from src (any address of a local route: free bind) with fwmark mark;
    returns (reader, writer, first line)."""
    family = socket.AF_INET6 if ":" in dst else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        if mark:
            sock.setsockopt(socket.SOL_SOCKET, SO_MARK, mark)
        if src:
            sock.bind(src if isinstance(src, tuple) else (src, 0))
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(loop.sock_connect(sock, (dst, port)), timeout)
        reader, writer = await asyncio.open_connection(sock=sock)
    except BaseException:
        sock.close()
        raise
    try:
        line = await asyncio.wait_for(reader.readline(), timeout)
    except BaseException:
        writer.close()
        raise
    if not line:
        writer.close()
        raise ConnectionError("closed before the back-end's greeting")
    return reader, writer, line.decode().split()


LINGER_RESET = b"\x01\x00\x00\x00\x00\x00\x00\x00"   # struct linger {1, 0}: close sends RST


async def one_flow(dst, port, src, mark, sem, timeout):
    async with sem:
        try:
            _, writer, words = await connect(dst, port, src, mark, timeout)
            if src and isinstance(src, tuple):
                # A flow keeps its address and port in every round; closing with RST leaves no
                # TIME_WAIT that would refuse the same four-tuple next round.
                writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, LINGER_RESET)
            writer.close()
            return words[0], words[1]          # back-end name, node address it saw
        except (OSError, asyncio.TimeoutError, IndexError):
            return None


async def flow_round(dst, port, sources, mark, conc, timeout):
    sem = asyncio.Semaphore(conc)
    return await asyncio.gather(*(one_flow(dst, port, s, mark, sem, timeout) for s in sources))


class Session:
    """A long-lived session: connected once, then a line echoed through it now and then."""

    def __init__(self, reader, writer, words):
        self.reader, self.writer, self.backend, self.node = reader, writer, words[0], words[1]
        self.broken_at = None

    async def ping(self, timeout, now=None):
        if self.broken_at is not None:
            return False
        try:
            self.writer.write(b"ping\n")
            await self.writer.drain()
            line = await asyncio.wait_for(self.reader.readline(), timeout)
            if line == b"ping\n":
                return True
        except (OSError, asyncio.TimeoutError):
            pass
        self.broken_at = now if now is not None else time.monotonic()
        return False

    def close(self):
        self.writer.close()


async def open_sessions(dst, port, sources, mark=0, timeout=3.0):
    out = []
    for s in sources:
        r, w, words = await connect(dst, port, s, mark, timeout)
        out.append(Session(r, w, words))
    return out


def pct(a, b):
    return f"{100.0 * a / b:.2f} %" if b else "n/a"


# ---------------------------------------------------------------- active/standby
def has_addr(ns, addr):
    return f" {addr}/" in run(["ip", "-n", ns, "-4", "addr", "show", "dev", "eth0"], check=False)


def wait_for(pred, secs, what):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out after {secs} s waiting until {what}")


class Prober:
    """Workers that open a new connection to the VIP, read the greeting and close, one after the
    other; every attempt is kept as (start, end, ok)."""

    def __init__(self, dst, port, workers, timeout, pause):
        self.dst, self.port, self.workers, self.timeout, self.pause = dst, port, workers, timeout, pause
        self.attempts, self.running = [], True

    async def worker(self):
        while self.running:
            t0 = time.monotonic()
            ok = await one_flow(self.dst, self.port, None, 0, asyncio.Semaphore(1), self.timeout) is not None
            self.attempts.append((t0, time.monotonic(), ok))
            await asyncio.sleep(self.pause)

    def outage(self, since, until):
        """(failed attempts, seconds from `since` to the start of the first success after the last
        failure, time of the last failure's end) within [since, until)."""
        window = [a for a in self.attempts if since <= a[0] < until]
        fails = [a for a in window if not a[2]]
        if not fails:
            return 0, 0.0
        last_fail = max(a[0] for a in fails)
        recovered = [a[0] for a in window if a[2] and a[0] > last_fail]
        end = min(recovered) if recovered else until
        return len(fails), end - since


async def standby_trial(cfg, failure, sessions_per_vip):
    ns1, ns2 = cfg["ns1"], cfg["ns2"]
    vip1, vip2, port = cfg["vip1"], cfg["vip2"], cfg["port"]
    wait_for(lambda: has_addr(ns1, vip1) and not has_addr(ns2, vip1) and has_addr(ns2, vip2), 30,
             f"{vip1} is on node 1 only and {vip2} on node 2")
    await asyncio.sleep(cfg["advert_int"] * 2)        # both nodes settled (adverts seen)
    s1 = await open_sessions(vip1, port, [None] * sessions_per_vip)
    s2 = await open_sessions(vip2, port, [None] * sessions_per_vip)
    if not all(s.node == cfg["node1_addr"] for s in s1) or not all(s.node == cfg["node2_addr"] for s in s2):
        raise RuntimeError("the sessions did not start through their VIP's master (node 1 for VIP1, node 2 for VIP2)")
    prober = Prober(vip1, port, cfg["probe_workers"], cfg["probe_timeout"], cfg["probe_pause"])
    tasks = [asyncio.create_task(prober.worker()) for _ in range(cfg["probe_workers"])]

    async def keep_pinging():
        while prober.running:
            now = time.monotonic()
            await asyncio.gather(*(s.ping(2.0, now) for s in s2))
            await asyncio.sleep(0.2)
    pinger = asyncio.create_task(keep_pinging())
    await asyncio.sleep(2.0)
    pre_fail = sum(1 for a in prober.attempts if not a[2])
    t0 = time.monotonic()
    for cmd in failure["fail"]:
        run(cmd)
    # Over when node 2 holds VIP1 and new connections have worked for 2 s in a row.
    deadline, moved = t0 + cfg["trial_secs"], None
    while time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        if not has_addr(ns2, vip1):
            continue
        moved = moved or time.monotonic() - t0
        recent = [a for a in prober.attempts if a[0] > time.monotonic() - 2.0]
        last_fail = max((a[0] for a in prober.attempts if not a[2] and a[0] >= t0), default=t0)
        if recent and all(a[2] for a in recent) and time.monotonic() - last_fail > 2.0:
            break
    t1 = time.monotonic()
    took_over = has_addr(ns2, vip1)
    fails, outage = prober.outage(t0, t1)
    vip1_alive = sum([await s.ping(2.0) for s in s1])
    # Failback: node 1 comes back and, having the higher priority, takes VIP1 again.
    for cmd in failure["restore"]:
        run(cmd)
    t2 = time.monotonic()
    wait_for(lambda: has_addr(ns1, vip1) and not has_addr(ns2, vip1), cfg["trial_secs"],
             "node 1 took VIP1 back")
    await asyncio.sleep(2.0)
    prober.running = False
    await asyncio.gather(*tasks)
    await pinger
    back_fails, back_outage = prober.outage(t2, time.monotonic())
    vip2_alive = sum([await s.ping(2.0) for s in s2])
    for s in s1 + s2:
        s.close()
    return {
        "failure": failure["name"], "took_over": took_over, "vip_moved": moved, "failed": fails, "outage": outage,
        "attempts": sum(1 for a in prober.attempts if t0 <= a[0] < t1), "pre_fail": pre_fail,
        "vip2_alive": vip2_alive, "vip1_alive": vip1_alive, "sessions": sessions_per_vip,
        "back_failed": back_fails, "back_outage": back_outage,
    }


def standby(cfg):
    async def main():
        rows = []
        for rep in range(cfg["reps"]):
            for failure in cfg["failures"]:
                log(f"rep {rep + 1}: {failure['name']}")
                r = await standby_trial(cfg, failure, cfg["sessions"])
                log(f"  {r}")
                rows.append(r)
        return rows
    rows = asyncio.run(main())
    adv = cfg["advert_int"]
    lines = [
        f"Advertisement interval {adv} s (3 intervals = {3 * adv:g} s); probe: {cfg['probe_workers']} "
        f"workers, each opening a connection to VIP1 and reading the back-end's greeting with a "
        f"{cfg['probe_timeout']} s timeout, {cfg['probe_pause']} s apart.",
        "",
        "| Failure of node 1 (VIP1's master) | VIP1 on node 2 after (s) | New connections to VIP1 failed for (s) | "
        "Failed / attempts | In advert intervals | VIP2 sessions on node 2 intact | VIP1 sessions on node 1 alive after | "
        "Failback: failed for (s), failed attempts |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        moved = "never" if r["vip_moved"] is None else f"{r['vip_moved']:.2f}"
        lines.append(
            f"| {r['failure']} | {moved} | {r['outage']:.2f} | {r['failed']} / {r['attempts']} | "
            f"{r['outage'] / adv:.1f} | {r['vip2_alive']} / {r['sessions']} | {r['vip1_alive']} / {r['sessions']} | "
            f"{r['back_outage']:.2f}, {r['back_failed']} |")
    return "\n".join(lines), rows


# ---------------------------------------------------------------- active/active
def flow_sources(prefix, n, offset=0, fixed_port=True):
    """Flow i: its own address in the client's /64 and, when fixed_port, its own source port, the
    same in every round, so the ECMP hash (addresses and ports) sends it the same way each time."""
    base = prefix.rstrip(":")
    addrs = [f"{base}::{(offset + i) // 65536 + 1:x}:{(offset + i) % 65536:x}" for i in range(n)]
    return [(a, 20000 + i % 40000) for i, a in enumerate(addrs)] if fixed_port else addrs


def agreement(rounds):
    """Share of flows whose back-end is the same in every round (flows answered in all of them)."""
    both = [i for i in range(len(rounds[0])) if all(r[i] for r in rounds)]
    same = sum(1 for i in both if len({r[i][0] for r in rounds}) == 1)
    return same, len(both)


def ecmp(cfg):
    vip, port, conc, timeout = cfg["vip"], cfg["port"], cfg["concurrency"], cfg["timeout"]
    nodes = cfg["nodes"]                       # [{"addr4": ..., "mark": ..., "control": [...]}, ...]
    node_of = {n["addr4"]: k for k, n in enumerate(nodes)}
    sources = flow_sources(cfg["client_prefix"], cfg["flows"])
    live_sources = flow_sources(cfg["client_prefix"], cfg["sessions"], offset=cfg["flows"] + 65536,
                                fixed_port=False)
    out = {}

    async def rnd(label, mark=0):
        t = time.monotonic()
        r = await flow_round(vip, port, sources, mark, conc, timeout)
        log(f"{label}: {len(r)} flows in {time.monotonic() - t:.1f} s, {sum(1 for x in r if x is None)} failed")
        return r

    def per_node(r):
        counts = [0] * len(nodes)
        for x in r:
            if x:
                counts[node_of[x[1]]] += 1
        return counts

    def per_backend(r):
        counts = {}
        for x in r:
            if x:
                counts[x[0]] = counts.get(x[0], 0) + 1
        return dict(sorted(counts.items()))

    async def main():
        # (a) every flow through the ECMP route, then through each node explicitly (fwmark rules).
        base = await rnd("ECMP round")
        direct = [await rnd(f"through node {k + 1} only", n["mark"]) for k, n in enumerate(nodes)]
        wrong_node = sum(1 for k, r in enumerate(direct) for x in r if x and node_of[x[1]] != k)
        same, both = agreement([base] + direct)
        out["a"] = {"nodes": per_node(base), "backends": per_backend(base), "same": same, "both": both,
                    "failed": sum(1 for r in [base] + direct for x in r if x is None),
                    "wrong_node": wrong_node}
        # (b) long-lived sessions, then one node's nexthop removed from the client's route.
        for name, setup, remove, restore in cfg["route_variants"]:
            for cmd in setup:
                run(cmd)
            await asyncio.sleep(0.5)
            before = await rnd(f"{name}: ECMP round before removal")
            live = await open_sessions(vip, port, live_sources)
            for cmd in remove:
                run(cmd)
            await asyncio.sleep(0.5)
            after = await rnd(f"{name}: ECMP round without node {cfg['removed_node'] + 1}")
            await asyncio.gather(*(s.ping(3.0) for s in live))
            gone = cfg["removed_node"]
            on_gone = [s for s in live if node_of[s.node] == gone]
            others = [s for s in live if node_of[s.node] != gone]
            same_b, both_b = agreement([before, after])
            moved_node = sum(1 for i in range(len(sources)) if before[i] and after[i]
                             and before[i][1] != after[i][1])
            out.setdefault("b", []).append({
                "variant": name, "same": same_b, "both": both_b, "nodes_after": per_node(after),
                "moved_node": moved_node,
                "failed": sum(1 for x in before + after if x is None),
                "live_gone": len(on_gone), "live_gone_broken": sum(1 for s in on_gone if s.broken_at),
                "live_other": len(others), "live_other_broken": sum(1 for s in others if s.broken_at)})
            for s in live:
                s.close()
            for cmd in restore:
                run(cmd)
            await asyncio.sleep(0.5)
        # (c) one back-end disabled on every node: only its clients move, on every node.
        gone_be = cfg["removed_backend_name"]
        for n in nodes:
            run(n["control"] + [f"disable {cfg['removed_backend']}", str(port)])
        await asyncio.sleep(0.3)
        c_base = await rnd("ECMP round, back-end disabled")
        c_direct = [await rnd(f"through node {k + 1} only, back-end disabled", n["mark"])
                    for k, n in enumerate(nodes)]
        rows = []
        for label, r, ref in [("ECMP", c_base, base)] + [
                (f"node {k + 1}", c_direct[k], direct[k]) for k in range(len(nodes))]:
            idx = [i for i in range(len(sources)) if r[i] and ref[i]]
            of_gone = [i for i in idx if ref[i][0] == gone_be]
            rest = [i for i in idx if ref[i][0] != gone_be]
            rows.append({"path": label, "of_gone": len(of_gone),
                         "of_gone_moved": sum(1 for i in of_gone if r[i][0] != gone_be),
                         "rest": len(rest), "rest_moved": sum(1 for i in rest if r[i][0] != ref[i][0]),
                         "failed": sum(1 for x in r if x is None)})
        same_c, both_c = agreement([c_base] + c_direct)
        out["c"] = {"rows": rows, "same": same_c, "both": both_c}
        for n in nodes:
            run(n["control"] + [f"enable {cfg['removed_backend']}", str(port)])

    asyncio.run(main())
    return render_ecmp(cfg, out), out


def render_ecmp(cfg, out):
    a, n = out["a"], cfg["flows"]
    lines = [
        f"(a) {n:,} flows (one client address each), through the ECMP route and through each of the "
        f"{len(cfg['nodes'])} nodes explicitly:",
        "",
        "| Flows per node over ECMP | Flows per back-end | Same back-end on every path (goal 100 %) | "
        "Failed connections (all 4 rounds) |",
        "| --- | --- | --- | --- |",
        f"| {' / '.join(map(str, a['nodes']))} | "
        f"{' / '.join(f'{k} {v}' for k, v in a['backends'].items())} | "
        f"{a['same']:,} / {a['both']:,} = {pct(a['same'], a['both'])} | {a['failed']} |",
        "",
        f"(b) node {cfg['removed_node'] + 1}'s nexthop removed from the client's route, "
        f"{cfg['sessions']} long-lived sessions open across it:",
        "",
        "| Route | Flows on another node afterwards | New flows that changed back-end (goal 0) | "
        "Live sessions through the removed node broken | Live sessions through the other nodes broken (goal 0) | "
        "Failed connections |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for b in out["b"]:
        lines.append(
            f"| {b['variant']} | {b['moved_node']:,} ({pct(b['moved_node'], b['both'])}) | "
            f"{b['both'] - b['same']:,} of {b['both']:,} | {b['live_gone_broken']} / {b['live_gone']} | "
            f"{b['live_other_broken']} / {b['live_other']} | {b['failed']} |")
    lines += [
        "",
        f"(c) back-end {cfg['removed_backend_name']} disabled on every node (`disable {cfg['removed_backend']}`), "
        "the same flows again:",
        "",
        f"| Path | Clients of {cfg['removed_backend_name']} that moved (goal 100 %) | Other clients that moved (goal 0) | "
        "Failed connections |",
        "| --- | --- | --- | --- |",
    ]
    for r in out["c"]["rows"]:
        lines.append(f"| {r['path']} | {r['of_gone_moved']:,} / {r['of_gone']:,} | {r['rest_moved']:,} / {r['rest']:,} "
                     f"| {r['failed']} |")
    c = out["c"]
    lines += ["", f"After the removal every path still agrees on {c['same']:,} / {c['both']:,} flows "
              f"({pct(c['same'], c['both'])})."]
    return "\n".join(lines)


# ---------------------------------------------------------------- entry
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="mode", required=True)
    b = sub.add_parser("backends")
    b.add_argument("addr")
    b.add_argument("pairs", nargs="+", help="PORT NAME pairs")
    for m in ("standby", "ecmp"):
        p = sub.add_parser(m)
        p.add_argument("--config", required=True)
        p.add_argument("--out")
    a = ap.parse_args()
    # The shell script stops this on interruption; sockets close with the process, nothing to tidy.
    signal.signal(signal.SIGTERM, lambda s, f: os._exit(128 + s))
    if a.mode == "backends":
        if len(a.pairs) % 2:
            ap.error("back-ends are PORT NAME pairs")
        asyncio.run(serve_backends(a.addr, list(zip(a.pairs[::2], a.pairs[1::2]))))
        return
    with open(a.config) as f:
        cfg = json.load(f)
    table, raw = (standby if a.mode == "standby" else ecmp)(cfg)
    print(table)
    if a.out:
        with open(a.out, "w") as f:
            f.write(table + "\n")
        with open(os.path.splitext(a.out)[0] + ".json", "w") as f:
            json.dump(raw, f, indent=1)


if __name__ == "__main__":
    main()
