#!/usr/bin/env python3
"""Start-up benchmark: exec to listening, the first connection, and base memory.

Each proxy is started fresh N times (pinned to CPU 0, everything else on CPU 1). For each start
it measures:
  * exec -> listening: from just before exec until the port listens (a sock_diag netlink dump
    of LISTEN sockets, polled, so no connection is spent on the probe);
  * first / tenth connection: from connect() to the first byte of the back-end's reply, the
    first client sent right after the port listens;
  * RSS of the proxy's process tree once it listens, and after the ten connections.
The back-end is an in-process server on CPU 1 that answers every request at once.

Usage: python3 bench/startup.py --balance-bin PATH [--starts 20] [--proxies balance,haproxy,nginx]
       [--label NAME=PATH ...]   (extra Balance builds to compare, e.g. r2r=/tmp/r2r/balance)
Prints one markdown table of medians; raw numbers go to --out (JSON lines) when given.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "lib"))
from benchlib import tree_rss_kib  # noqa: E402  (the same RSS sum as bench/run.sh)

REQUEST = b"GET / HTTP/1.0\r\n\r\n"
REPLY = b"HTTP/1.0 200 OK\r\nContent-Length: 6\r\n\r\nhello\n"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Backend:
    """Answers each connection's first read with REPLY and closes; runs in this process."""

    def __init__(self):
        self.port = free_port()
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", self.port))
        self.sock.listen(512)
        self.stopped = False
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(c,), daemon=True).start()

    @staticmethod
    def _answer(c):
        with c:
            c.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                if c.recv(4096):
                    c.sendall(REPLY)
                c.shutdown(socket.SHUT_WR)
                c.recv(1)
            except OSError:
                pass

    def stop(self):
        self.stopped = True
        self.sock.close()


def listening(port):
    """True when a TCP socket listens on port: one sock_diag netlink dump of LISTEN sockets only,
    so the TIME_WAIT sockets a benchmark leaves behind (tens of thousands) cost nothing."""
    nl = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 4)  # NETLINK_SOCK_DIAG
    try:
        # inet_diag_req_v2: family, protocol, ext, pad, states (1 << TCP_LISTEN), zeroed sockid
        req = struct.pack("=BBBBI48x", socket.AF_INET, socket.IPPROTO_TCP, 0, 0, 1 << 10)
        # nlmsghdr: SOCK_DIAG_BY_FAMILY (20), NLM_F_REQUEST | NLM_F_DUMP
        nl.send(struct.pack("=IHHII", 16 + len(req), 20, 0x301, 1, 0) + req)
        found = False
        while True:
            data = nl.recv(65536)
            offset = 0
            while offset + 16 <= len(data):
                length, kind = struct.unpack_from("=IH", data, offset)
                if kind in (2, 3):  # NLMSG_ERROR, NLMSG_DONE
                    return found
                # inet_diag_msg: family, state, timer, retrans, then the sockid's source port
                if struct.unpack_from("!H", data, offset + 16 + 4)[0] == port:
                    found = True
                offset += (length + 3) & ~3
    finally:
        nl.close()


def one_request(port):
    """Seconds from connect() to the first byte of the reply."""
    s = socket.socket()
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.settimeout(5)
    t0 = time.perf_counter()
    s.connect(("127.0.0.1", port))
    s.sendall(REQUEST)
    first = s.recv(1)
    t1 = time.perf_counter()
    if not first:
        raise RuntimeError("the proxy closed without a reply")
    while s.recv(4096):
        pass
    s.close()
    return t1 - t0


def command(kind, binary, port, backend, workdir):
    if kind == "haproxy":
        cfg = os.path.join(workdir, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(
                "global\n  nbthread 1\n  maxconn 9900\n"
                "defaults\n  mode tcp\n  balance roundrobin\n  timeout connect 5s\n"
                "  timeout client 600s\n  timeout server 600s\n"
                f"listen p\n  bind 127.0.0.1:{port}\n  server b1 127.0.0.1:{backend}\n"
            )
        return ["haproxy", "-db", "-f", cfg]
    if kind == "nginx":
        cfg = os.path.join(workdir, "nginx.conf")
        module = ""
        for path in ("/usr/lib/nginx/modules/ngx_stream_module.so",):
            if os.path.exists(path):
                module = f"load_module {path};\n"
        with open(cfg, "w") as f:
            f.write(
                f"{module}worker_processes 1;\ndaemon off;\nmaster_process on;\nuser root;\n"
                f"pid {workdir}/nginx.pid;\nerror_log {workdir}/error.log warn;\n"
                "events { worker_connections 1024; }\n"
                f"stream {{ upstream u {{ server 127.0.0.1:{backend}; }}\n"
                f"  server {{ listen 127.0.0.1:{port}; proxy_pass u; proxy_timeout 600s; }} }}\n"
            )
        return ["nginx", "-p", workdir, "-e", f"{workdir}/error.log", "-c", cfg]
    return [binary, "-f", "-b", "127.0.0.1", str(port), f"127.0.0.1:{backend}"]


def measure_start(kind, binary, backend, workdir, timeout=10.0):
    port = free_port()
    cmd = ["taskset", "-c", "0"] + command(kind, binary, port, backend, workdir)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        while not listening(port):
            if proc.poll() is not None:
                raise RuntimeError(f"{kind} exited with {proc.returncode} before listening")
            if time.perf_counter() - t0 > timeout:
                raise RuntimeError(f"{kind} did not listen within {timeout} s")
            time.sleep(0.0002)
        t_listen = time.perf_counter() - t0
        rss_listen = tree_rss_kib(proc.pid)
        times = [one_request(port) for _ in range(10)]
        rss_after = tree_rss_kib(proc.pid)
        return {"proxy": kind, "listen_ms": t_listen * 1e3, "first_ms": times[0] * 1e3,
                "tenth_ms": times[9] * 1e3, "rss_listen_kib": rss_listen, "rss_kib": rss_after}
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--balance-bin", required=False)
    ap.add_argument("--label", action="append", default=[],
                    help="NAME=PATH: another balance executable, reported as balance-NAME")
    ap.add_argument("--starts", type=int, default=20)
    ap.add_argument("--proxies", default="balance,haproxy,nginx")
    ap.add_argument("--out")
    a = ap.parse_args()
    os.sched_setaffinity(0, {1} if os.cpu_count() > 1 else {0})

    slots = []
    for p in a.proxies.split(","):
        if p == "balance":
            if not a.balance_bin:
                ap.error("--balance-bin is required with balance in --proxies")
            slots.append(("balance", "balance", a.balance_bin))
        elif p in ("haproxy", "nginx"):
            if not shutil.which(p):
                ap.error(f"{p} is not installed (apt-get install {p})")
            slots.append((p, p, None))
        else:
            ap.error(f"unknown proxy {p}")
    for spec in a.label:
        name, _, path = spec.partition("=")
        slots.append((f"balance-{name}", "balance", path))

    backend = Backend()
    rows = {name: [] for name, _, _ in slots}
    out = open(a.out, "w") if a.out else None
    try:
        with tempfile.TemporaryDirectory() as work:
            for i in range(a.starts):
                # Rotate the order so no proxy always follows the same one.
                for name, kind, binary in slots[i % len(slots):] + slots[:i % len(slots)]:
                    r = measure_start(kind, binary, backend.port, work)
                    r["slot"] = name
                    rows[name].append(r)
                    if out:
                        out.write(json.dumps(r) + "\n")
    finally:
        backend.stop()
        if out:
            out.close()

    print(f"| proxy ({a.starts} fresh starts, medians) | exec to listening | first connection "
          "p50 | first p90 | tenth connection p50 | RSS listening | RSS after 10 |")
    print("|---|---|---|---|---|---|---|")
    for name, _, _ in slots:
        r = rows[name]
        def med(k):
            return statistics.median(x[k] for x in r)
        firsts = sorted(x["first_ms"] for x in r)
        p90 = firsts[min(len(firsts) - 1, int(round(0.9 * (len(firsts) - 1))))]
        print(f"| {name} | {med('listen_ms'):.1f} ms | {med('first_ms'):.2f} ms | {p90:.2f} ms | "
              f"{med('tenth_ms'):.2f} ms | {med('rss_listen_kib') / 1024:.1f} MiB | "
              f"{med('rss_kib') / 1024:.1f} MiB |")


if __name__ == "__main__":
    main()
