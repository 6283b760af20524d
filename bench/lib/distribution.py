#!/usr/bin/env python3
"""Distribution run with real connections (issue 16 item 6): Balance (--policy maglev) and haproxy
(balance source + hash-type consistent) in front of the same 5 loopback back-ends; N clients, each
bound to its own 127.1.x.y source address, connect through each proxy and record which back-end
answered; then one back-end (the third) is taken out at run time (Balance `disable 2`, haproxy
`set server b/s3 state maint`), every client reconnects, the back-end is put back and every client
reconnects again. Prints one markdown table. Loopback only, standard library only.

Usage: python3 bench/lib/distribution.py --balance-bin PATH [--clients N] [--concurrency C] [--out FILE]
(bench/distribution.sh builds Balance and calls this.)
"""
import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

BACKENDS = 5
REMOVED = 2  # 0-based: Balance channel 2, haproxy server s3


def log(msg):
    print(f"[distribution] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listen(port, proc, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"process {proc.args[0]} exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} not listening after {timeout} s")


def client_addr(i):
    return f"127.1.{i // 250}.{i % 250 + 1}"


async def one_client(i, port, sem, timeout):
    async with sem:
        try:
            r, w = await asyncio.wait_for(
                asyncio.open_connection("127.0.0.1", port, local_addr=(client_addr(i), 0)), timeout)
            try:
                data = await asyncio.wait_for(r.read(64), timeout)
            finally:
                w.close()
            name = data.decode(errors="replace").strip()
            return name or None
        except (OSError, asyncio.TimeoutError):
            return None


async def round_of(port, n, conc, timeout):
    sem = asyncio.Semaphore(conc)
    return await asyncio.gather(*(one_client(i, port, sem, timeout) for i in range(n)))


async def serve_backends(ports):
    servers = []
    for k, p in enumerate(ports):
        name = f"s{k + 1}\n".encode()

        async def handle(reader, writer, name=name):
            try:
                writer.write(name)
                await writer.drain()
            finally:
                writer.close()

        servers.append(await asyncio.start_server(handle, "127.0.0.1", p, backlog=1024))
    return servers


class Procs:
    def __init__(self):
        self.procs = []

    def start(self, args, logf):
        p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=logf, stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.procs.append(p)
        return p

    def stop_all(self):
        for p in self.procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        end = time.monotonic() + 5
        for p in self.procs:
            try:
                p.wait(max(0.1, end - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                p.wait(2)


def haproxy_admin(sock_path, cmd):
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(sock_path)
        s.sendall(cmd.encode() + b"\n")
        out = b""
        while True:
            d = s.recv(4096)
            if not d:
                break
            out += d
    return out.decode().strip()


def balance_cmd(bin_, port, cmd):
    r = subprocess.run([bin_, "-b", "127.0.0.1", "-c", cmd, str(port)], capture_output=True,
                       text=True, timeout=15)
    if r.returncode != 0:
        raise RuntimeError(f"balance -c '{cmd}' exited {r.returncode}: {r.stdout}{r.stderr}")
    return r.stdout.strip()


def stats(first, removed, back, n):
    names = [f"s{k + 1}" for k in range(BACKENDS)]
    gone = names[REMOVED]
    counts = {nm: sum(1 for x in first if x == nm) for nm in names}
    ok = sum(counts.values())
    mean = ok / BACKENDS
    both = [i for i in range(n) if first[i] and removed[i]]
    others = [i for i in both if first[i] != gone]
    moved_others = sum(1 for i in others if removed[i] != first[i])
    moved_total = sum(1 for i in both if removed[i] != first[i])
    on_gone = sum(1 for i in both if removed[i] == gone)
    b3 = [i for i in range(n) if first[i] and back[i]]
    returned = sum(1 for i in b3 if back[i] == first[i])
    fails = sum(1 for r in (first, removed, back) for x in r if x is None)
    return {
        "counts": counts, "imbalance": max(counts.values()) / mean if mean else float("nan"),
        "min_ratio": min(counts.values()) / mean if mean else float("nan"),
        "moved_others": moved_others / len(others) if others else float("nan"),
        "moved_total": moved_total / len(both) if both else float("nan"),
        "gone_share": counts[gone] / ok if ok else float("nan"),
        "on_gone": on_gone, "returned": returned / len(b3) if b3 else float("nan"), "fails": fails,
    }


def pct(x):
    return f"{100 * x:.2f} %"


async def main_async(a, tmp, procs):
    bports = [free_port() for _ in range(BACKENDS)]
    servers = await serve_backends(bports)
    results = {}
    try:
        # haproxy
        hport, sock = free_port(), os.path.join(tmp, "admin.sock")
        cfg = os.path.join(tmp, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(f"""global
  maxconn 4000
  stats socket {sock} mode 600 level admin
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
listen b
  bind 127.0.0.1:{hport}
  balance source
  hash-type consistent
""")
            for k, p in enumerate(bports):
                f.write(f"  server s{k + 1} 127.0.0.1:{p}\n")
        hp = procs.start(["haproxy", "-db", "-f", cfg], open(os.path.join(tmp, "haproxy.log"), "w"))
        wait_listen(hport, hp)
        # Balance
        bport = free_port()
        bargs = [a.balance_bin, "-f", "-b", "127.0.0.1", "--policy", "maglev", str(bport)] + \
            [f"127.0.0.1:{p}" for p in bports]
        bp = procs.start(bargs, open(os.path.join(tmp, "balance.log"), "w"))
        wait_listen(bport, bp)
        log("balance: " + " ".join(bargs))

        proxies = [
            ("Balance (maglev)", bport,
             lambda: balance_cmd(a.balance_bin, bport, f"disable {REMOVED}"),
             lambda: balance_cmd(a.balance_bin, bport, f"enable {REMOVED}")),
            ("haproxy (source, consistent)", hport,
             lambda: haproxy_admin(sock, f"set server b/s{REMOVED + 1} state maint"),
             lambda: haproxy_admin(sock, f"set server b/s{REMOVED + 1} state ready")),
        ]
        for name, port, remove, readd in proxies:
            t0 = time.monotonic()
            first = await round_of(port, a.clients, a.concurrency, a.timeout)
            log(f"{name}: round 1 in {time.monotonic() - t0:.1f} s")
            log(f"{name}: remove -> {remove()!r}")
            await asyncio.sleep(0.5)
            removed = await round_of(port, a.clients, a.concurrency, a.timeout)
            log(f"{name}: re-add -> {readd()!r}")
            await asyncio.sleep(0.5)
            back = await round_of(port, a.clients, a.concurrency, a.timeout)
            results[name] = stats(first, removed, back, a.clients)
            log(f"{name}: {results[name]} ({time.monotonic() - t0:.1f} s)")
    finally:
        for s in servers:
            s.close()
    return results


def render(results, n):
    lines = [
        f"| Proxy ({n:,} clients, 5 back-ends) | Clients per back-end (s1..s5) | Imbalance (max/mean) | "
        "Moved, clients of the other four (goal 0) | Moved, all clients (goal <= 21 %) | "
        "Back on their first back-end after re-adding | Failed connections |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, r in results.items():
        c = " / ".join(str(v) for v in r["counts"].values())
        lines.append(f"| {name} | {c} | {r['imbalance']:.3f} | {pct(r['moved_others'])} | "
                     f"{pct(r['moved_total'])} (s3 had {pct(r['gone_share'])}) | {pct(r['returned'])} | "
                     f"{r['fails']} |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--balance-bin", required=True)
    ap.add_argument("--clients", type=int, default=10000)
    ap.add_argument("--concurrency", type=int, default=200)
    ap.add_argument("--timeout", type=float, default=10.0, help="seconds per connect and per read")
    ap.add_argument("--out")
    a = ap.parse_args()
    if a.clients > 250 * 255:
        ap.error("at most 63,750 clients (127.1.0-254.1-250)")
    procs = Procs()

    def on_signal(sig, _frame):
        procs.stop_all()
        sys.exit(128 + sig)

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    with tempfile.TemporaryDirectory(prefix="balance-dist.") as tmp:
        try:
            results = asyncio.run(main_async(a, tmp, procs))
        except Exception:
            for f in ("haproxy.log", "balance.log"):
                p = os.path.join(tmp, f)
                if os.path.exists(p):
                    log(f"--- {f}:\n" + open(p).read()[-2000:])
            raise
        finally:
            procs.stop_all()
    table = render(results, a.clients)
    print(table)
    if a.out:
        with open(a.out, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
