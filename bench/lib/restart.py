#!/usr/bin/env python3
"""Restart benchmark (bench/restart.sh runs it): wrk keep-alive and connection-per-request load
through Balance while it is replaced N times with `balance --takeover`, and the same through
haproxy while it is reloaded N times seamlessly (master-worker, USR2 to the master, listeners
passed with `expose-fd listeners`). Counts every error wrk reports (connect, read, write,
timeout, non-2xx) and prints a markdown table; writes JSON with --out.

Usage: restart.py --balance-bin PATH [--restarts N] [--interval S] [--connections C] [--out FILE]"""
import argparse
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from failover import free_port, start_backend, stop, wait_listen  # noqa: E402


def parse_errors(out):
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = dict(zip(("connect", "read", "write", "timeout"), (int(x) for x in m.groups()) if m else (0, 0, 0, 0)))
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors["non2xx"] = int(m.group(1)) if m else 0
    m = re.search(r"(\d+) requests in", out)
    errors["requests"] = int(m.group(1)) if m else 0
    return errors


class BalanceTarget:
    """balance in the background; each restart is a detached `balance --takeover` whose pid it reports."""

    def __init__(self, binary, port, backends, scratch):
        self.binary, self.port, self.pids = binary, port, []
        self.env = dict(os.environ, BALANCE_SEGMENT_DIR=scratch)
        # The first one in the foreground, so its pid is known; the replacements report theirs.
        self.first = subprocess.Popen([binary, "-f", "--workers", "1", "-b", "127.0.0.1", str(port)] + [f"127.0.0.1:{b}" for b in backends],
                                      env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listen(port, self.first)

    def restart(self):
        t0 = time.monotonic()
        out = subprocess.run([self.binary, "--workers", "1", "-b", "127.0.0.1", "--takeover", str(self.port)],
                             env=self.env, capture_output=True, text=True, timeout=60)
        if out.returncode != 0:
            raise RuntimeError("takeover failed: " + out.stderr.strip())
        m = re.search(r"pid (\d+) took over", out.stdout)
        self.pids.append(int(m.group(1)) if m else None)
        return time.monotonic() - t0

    def close(self):
        subprocess.run([self.binary, "-b", "127.0.0.1", "-c", "kill", str(self.port)], env=self.env, capture_output=True, timeout=60)
        for pid in self.pids:
            if pid:
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        stop(self.first)


class HaproxyTarget:
    """haproxy -W (master-worker); a restart is USR2 to the master, which re-executes with -x."""

    def __init__(self, port, backends, scratch):
        d = os.path.join(scratch, "haproxy")
        os.makedirs(d, exist_ok=True)
        servers = "\n".join(f"  server s{i} 127.0.0.1:{b}" for i, b in enumerate(backends))
        cfg = os.path.join(d, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write(f"""global
  nbthread 1
  maxconn 4000
  stats socket {d}/stats.sock mode 600 level admin expose-fd listeners
defaults
  mode tcp
  balance roundrobin
  timeout connect 1s
  timeout client 600s
  timeout server 600s
listen restart
  bind 127.0.0.1:{port}
{servers}
""")
        self.path = os.path.join(d, "out.log")
        self.log = open(self.path, "w")
        self.master = subprocess.Popen(["haproxy", "-W", "-db", "-f", cfg], stdout=self.log, stderr=subprocess.STDOUT)
        wait_listen(port, self.master)

    def loaded(self):
        with open(self.path) as f:
            return f.read().count("Loading success.")

    def restart(self):
        """USR2, then wait for the master's "Loading success." (the new worker is up); timed from the USR2 that worked."""
        before = self.loaded()
        deadline = time.time() + 30
        while time.time() < deadline and self.loaded() <= before:
            # A USR2 that reaches the master while it re-executes itself is lost: ask again.
            t0 = time.monotonic()
            self.master.send_signal(signal.SIGUSR2)
            again = time.time() + 0.5
            while time.time() < again and self.loaded() <= before:
                time.sleep(0.01)
        if self.loaded() <= before:
            raise RuntimeError("haproxy did not report a reload within 30 s (see " + self.path + ")")
        return time.monotonic() - t0

    def close(self):
        stop(self.master)
        self.log.close()


def run_one(kind, mode, a, backends, scratch):
    port = free_port()
    target = BalanceTarget(a.balance_bin, port, backends, scratch) if kind == "balance" else HaproxyTarget(port, backends, scratch)
    try:
        # wrk runs until the last switch is a second old, then SIGINT makes it print its totals.
        cmd = ["wrk", "-t", "2", "-c", str(a.connections), "-d", "300s", "--timeout", "5s"]
        if mode == "close":
            cmd += ["-H", "Connection: close"]
        wrk = subprocess.Popen(cmd + [f"http://127.0.0.1:{port}/"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        time.sleep(1)
        switch = []
        first = time.monotonic()
        for _ in range(a.restarts):
            switch.append(target.restart())
            time.sleep(max(0.0, a.interval - switch[-1]))
        time.sleep(1)
        window = time.monotonic() - first
        wrk.send_signal(signal.SIGINT)
        out, _ = wrk.communicate(timeout=60)
        row = parse_errors(out)
        row.update(proxy=kind, load=mode, restarts=len(switch), window_s=round(window, 1),
                   switch_ms=round(1000 * sum(switch) / len(switch), 1) if switch else None)
        return row
    finally:
        target.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--balance-bin", required=True)
    p.add_argument("--restarts", type=int, default=10)
    p.add_argument("--interval", type=float, default=0.5, help="least seconds between restarts; keep the whole window under balance's 10 s grace period, after which a drained engine closes its keep-alive sessions")
    p.add_argument("--connections", type=int, default=50)
    p.add_argument("--out")
    p.add_argument("--scratch", help="a directory of this user's for segments and configs (default: a new one, removed at the end)")
    a = p.parse_args()
    scratch = a.scratch or tempfile.mkdtemp(prefix="balance-restart.")
    os.chmod(scratch, 0o700)
    try:
        return measure(a, scratch)
    finally:
        if not a.scratch:
            shutil.rmtree(scratch, ignore_errors=True)


def measure(a, scratch):
    ports = [free_port(), free_port()]
    backends = [start_backend(ports[0], "b0"), start_backend(ports[1], "b1")]
    rows = []
    try:
        for kind in ("balance", "haproxy"):
            for mode in ("keep-alive", "close"):
                print(f"[restart] {kind} {mode}: {a.restarts} restarts under wrk -c {a.connections}", file=sys.stderr)
                rows.append(run_one(kind, mode, a, ports, scratch))
    finally:
        for b in backends:
            stop(b)
    print("| proxy | load | restarts in | requests | connect | read | write | timeout | non-2xx | mean switch |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['proxy']} | {r['load']} | {r['restarts']} in {r['window_s']} s | {r['requests']} | {r['connect']} | {r['read']} | {r['write']} | {r['timeout']} | {r['non2xx']} | {r['switch_ms']} ms |")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(rows, f, indent=2)
    failed = [r for r in rows if r["connect"] + r["read"] + r["write"] + r["timeout"] + r["non2xx"] > 0]
    return 1 if any(r["proxy"] == "balance" for r in failed) else 0


if __name__ == "__main__":
    sys.exit(main())
