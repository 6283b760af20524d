#!/usr/bin/env python3
"""Failover benchmark (bench/failover.sh runs it): one of two back-ends is killed and restarted
under keep-alive and new-connection load, behind Balance with health checks, haproxy with
`check inter 1s fall 2 rise 2` and nginx stream with max_fails; then the CPU Balance (and haproxy)
spend checking 1,000 channels every second. Prints a markdown table and writes JSON.

Modes: `failover.py backend PORT NAME` is one back-end (HTTP/1.1, keep-alive, names itself);
`failover.py run --balance-bin PATH [--out FILE]` is the benchmark."""
import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

HERE = os.path.abspath(__file__)


# ---------------------------------------------------------------- back-end
async def serve(port, name):
    body = (name + "\n").encode()

    async def handle(reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                close = b"connection: close" in head.lower()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nX-Backend: %s\r\n%s\r\n" % (
                    len(body), name.encode(), b"Connection: close\r\n" if close else b"") + body)
                await writer.drain()
                if close:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", port, reuse_address=True, backlog=1024)
    async with server:
        await server.serve_forever()


# ---------------------------------------------------------------- helpers
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listen(port, proc, secs=30):
    deadline = time.time() + secs
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process {proc.args[0]} exited with {proc.returncode} before listening on {port}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {secs} s")


def start_backend(port, name):
    p = subprocess.Popen([sys.executable, HERE, "backend", str(port), name], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_listen(port, p)
    return p


def stop(p):
    if p is None or p.poll() is not None:
        return
    p.terminate()
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def cpu_seconds(pid):
    """utime + stime of a process and its children that were waited for, in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid):
    total = cpu_seconds(pid)
    try:
        for child in open(f"/proc/{pid}/task/{pid}/children").read().split():
            total += tree_cpu(int(child))
    except OSError:
        pass
    return total


# ---------------------------------------------------------------- proxies
def start_proxy(kind, port, backends, scratch, balance_bin):
    d = os.path.join(scratch, f"{kind}-{port}")
    os.makedirs(d, exist_ok=True)
    if kind.startswith("balance"):
        checks = ["--check-interval", "1s", "--check-timeout", "500ms", "--rise", "2", "--fall", "2"] if kind == "balance" else []
        cmd = [balance_bin, "-f", "-t", "1", "--workers", "1", *checks, "-b", "127.0.0.1", str(port)] + [f"127.0.0.1:{b}" for b in backends]
    elif kind == "haproxy":
        servers = "\n".join(f"  server s{i} 127.0.0.1:{b} check inter 1s fall 2 rise 2" for i, b in enumerate(backends))
        cfg = os.path.join(d, "haproxy.cfg")
        open(cfg, "w").write(f"""global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  balance roundrobin
  timeout connect 1s
  timeout client 600s
  timeout server 600s
listen failover
  bind 127.0.0.1:{port}
  option redispatch
  retries 2
{servers}
""")
        cmd = ["haproxy", "-db", "-f", cfg]
    else:
        load = NGINX_STREAM_LOAD
        servers = " ".join(f"server 127.0.0.1:{b} max_fails=2 fail_timeout=2s;" for b in backends)
        cfg = os.path.join(d, "nginx.conf")
        open(cfg, "w").write(f"""{load}
worker_processes 1;
daemon off;
master_process on;
user root;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 4096; }}
stream {{
  upstream backends {{ {servers} }}
  server {{ listen 127.0.0.1:{port}; proxy_pass backends; proxy_connect_timeout 1s; proxy_timeout 600s; proxy_next_upstream on; }}
}}
""")
        cmd = ["nginx", "-p", d, "-e", os.path.join(d, "error.log"), "-c", cfg]
    p = subprocess.Popen(cmd, stdout=open(os.path.join(d, "out.log"), "w"), stderr=subprocess.STDOUT)
    wait_listen(port, p)
    return p


NGINX_STREAM_LOAD = ""


# ---------------------------------------------------------------- load
class Tally:
    def __init__(self):
        self.ok = 0
        self.errors_ka = 0
        self.errors_new = 0
        self.last_seen = {}   # back-end name -> last time a response came from it
        self.first_after = {}  # back-end name -> first response time after a mark

    def served(self, name, now, mark):
        self.ok += 1
        self.last_seen[name] = now
        if mark is not None and now >= mark and name not in self.first_after:
            self.first_after[name] = now


async def read_response(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    name = "?"
    for line in head.split(b"\r\n"):
        low = line.lower()
        if low.startswith(b"content-length:"):
            length = int(line.split(b":")[1])
        elif low.startswith(b"x-backend:"):
            name = line.split(b":")[1].strip().decode()
    await reader.readexactly(length)
    return name


async def keepalive_client(port, tally, state, stop_at):
    reader = writer = None
    while time.time() < stop_at:
        try:
            if writer is None:
                reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 3)
            writer.write(b"GET / HTTP/1.1\r\nHost: b\r\n\r\n")
            name = await asyncio.wait_for(read_response(reader), 3)
            tally.served(name, time.time(), state.get("restarted"))
            await asyncio.sleep(0.005)
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
            tally.errors_ka += 1
            if writer is not None:
                writer.close()
            reader = writer = None
            await asyncio.sleep(0.01)
    if writer is not None:
        writer.close()


async def newconn_client(port, tally, state, stop_at):
    while time.time() < stop_at:
        writer = None
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 3)
            writer.write(b"GET / HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n")
            name = await asyncio.wait_for(read_response(reader), 3)
            tally.served(name, time.time(), state.get("restarted"))
        except (OSError, asyncio.TimeoutError, asyncio.IncompleteReadError, ValueError):
            tally.errors_new += 1
        finally:
            if writer is not None:
                writer.close()
        await asyncio.sleep(0.01)


async def scenario(kind, scratch, balance_bin, down_s, after_s):
    b1, b2, port = free_port(), free_port(), free_port()
    backends = [start_backend(b1, "A"), start_backend(b2, "B")]
    proxy = None
    tally = Tally()
    state = {}
    try:
        proxy = start_proxy(kind, port, [b1, b2], scratch, balance_bin)
        warm = 3.0
        start = time.time()
        stop_at = start + warm + down_s + after_s
        clients = [keepalive_client(port, tally, state, stop_at) for _ in range(8)]
        clients += [newconn_client(port, tally, state, stop_at) for _ in range(8)]

        async def chaos():
            await asyncio.sleep(warm)
            backends[1].send_signal(signal.SIGKILL)
            backends[1].wait()
            state["killed"] = time.time()
            await asyncio.sleep(down_s)
            backends[1] = start_backend(b2, "B")
            state["restarted"] = time.time()

        await asyncio.gather(chaos(), *clients)
        back = tally.first_after.get("B")
        return {
            "proxy": kind,
            "requests": tally.ok,
            "errors_keepalive": tally.errors_ka,
            "errors_new_connection": tally.errors_new,
            "seconds_until_serving_again": None if back is None else round(back - state["restarted"], 2),
        }
    finally:
        stop(proxy)
        for b in backends:
            stop(b)


def check_cost(kind, scratch, balance_bin, seconds):
    """CPU of a proxy with 1,000 channels checked every second and no client, against its idle baseline."""
    target = free_port()
    backend = start_backend(target, "T")
    try:
        result = {"proxy": kind}
        for label, checks in (("idle", False), ("checking", True)):
            port = free_port()
            d = os.path.join(scratch, f"cost-{kind}-{label}")
            os.makedirs(d, exist_ok=True)
            if kind == "balance":
                opts = ["--check-interval", "1s", "--check-timeout", "500ms"] if checks else []
                cmd = [balance_bin, "-f", "--workers", "1", *opts, "-b", "127.0.0.1", str(port)] + [f"127.0.0.1:{target}"] * 1000
            else:
                servers = "\n".join(f"  server s{i} 127.0.0.1:{target}{' check inter 1s' if checks else ''}" for i in range(1000))
                cfg = os.path.join(d, "haproxy.cfg")
                open(cfg, "w").write(f"global\n  nbthread 1\n  maxconn 4000\ndefaults\n  mode tcp\n  timeout connect 1s\n  timeout client 60s\n  timeout server 60s\nlisten cost\n  bind 127.0.0.1:{port}\n{servers}\n")
                cmd = ["haproxy", "-db", "-f", cfg]
            p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                wait_listen(port, p)
                time.sleep(2)  # past start-up and the first, spread interval
                before, t0 = tree_cpu(p.pid), time.time()
                time.sleep(seconds)
                used, wall = tree_cpu(p.pid) - before, time.time() - t0
                result[label + "_cpu_pct"] = round(100 * used / wall, 2)
            finally:
                stop(p)
        result["check_cpu_pct"] = round(result["checking_cpu_pct"] - result["idle_cpu_pct"], 2)
        return result
    finally:
        stop(backend)


def main():
    global NGINX_STREAM_LOAD
    if len(sys.argv) > 1 and sys.argv[1] == "backend":
        asyncio.run(serve(int(sys.argv[2]), sys.argv[3]))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["run"])
    ap.add_argument("--balance-bin", required=True)
    ap.add_argument("--proxies", default="balance,balance-nochecks,haproxy,nginx")
    ap.add_argument("--down", type=float, default=5.0, help="seconds the back-end stays dead")
    ap.add_argument("--after", type=float, default=6.0, help="seconds of load after the restart")
    ap.add_argument("--cost-seconds", type=float, default=10.0)
    ap.add_argument("--nginx-stream-load", default="")
    ap.add_argument("--out")
    a = ap.parse_args()
    NGINX_STREAM_LOAD = a.nginx_stream_load
    scratch = tempfile.mkdtemp(prefix="balance-failover.")
    rows = [asyncio.run(scenario(k, scratch, a.balance_bin, a.down, a.after)) for k in a.proxies.split(",")]
    costs = [check_cost(k, scratch, a.balance_bin, a.cost_seconds) for k in ("balance", "haproxy") if k in a.proxies.split(",") or k == "balance"]
    print(f"One of two back-ends killed for {a.down:g} s under load (8 keep-alive clients, 8 clients opening a connection per request), restarted, {a.after:g} s more load.\n")
    print("| proxy | requests served | client errors, keep-alive | client errors, new connections | s until the restarted back-end serves |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for r in rows:
        print(f"| {r['proxy']} | {r['requests']} | {r['errors_keepalive']} | {r['errors_new_connection']} | {r['seconds_until_serving_again']} |")
    print("\nCPU of one proxy process with 1,000 channels (one back-end) checked every second, no clients, "
          f"over {a.cost_seconds:g} s (% of one core):\n")
    print("| proxy | idle | checking | cost of the checks |")
    print("| --- | ---: | ---: | ---: |")
    for c in costs:
        print(f"| {c['proxy']} | {c['idle_cpu_pct']} | {c['checking_cpu_pct']} | {c['check_cpu_pct']} |")
    if a.out:
        json.dump({"failover": rows, "check_cost": costs, "down_s": a.down, "after_s": a.after}, open(a.out, "w"), indent=2)


if __name__ == "__main__":
    main()
