#!/usr/bin/env python3
"""Bounded soak of one Balance engine on loopback (see bench/soak.sh).

Echo back-ends run in this process; the engine runs as a child (balance -f) with a private
segment directory. Client workers churn connections: each sends a random payload in random
chunks while reading the echo, checks every byte, and closes. Meanwhile a control loop disables,
enables, re-addresses and adds channels through `balance -c`. At the end the script prints bytes
sent versus bytes verified (they must be equal), connection counts, and the engine's descriptor
and memory figures, then stops every process it started, by pid. Exit 0 only if nothing was lost.
"""

import argparse
import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

HOST = "127.0.0.1"  # loopback only, by design


class Totals:
    def __init__(self):
        self.sent = 0
        self.verified = 0
        self.sessions = 0
        self.refused = 0       # accepted, then closed without data: no channel was usable
        self.mismatches = 0    # echo differed or stopped early: lost or corrupted bytes
        self.errors = {}
        self.control_ok = 0
        self.control_failed = 0

    def error(self, what):
        self.errors[what] = self.errors.get(what, 0) + 1


class EchoServer:
    def __init__(self):
        self.server = None
        self.port = 0
        self.open = 0

    async def start(self):
        self.server = await asyncio.start_server(self.handle, HOST, 0, backlog=4096)
        self.port = self.server.sockets[0].getsockname()[1]

    async def handle(self, reader, writer):
        self.open += 1
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            writer.write_eof()
            await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.open -= 1
            writer.close()

    async def stop(self):
        self.server.close()
        await self.server.wait_closed()


def balance_env(segdir):
    env = dict(os.environ)
    env["BALANCE_SEGMENT_DIR"] = segdir
    return env


def control(binary, segdir, port, command, totals):
    result = subprocess.run(
        [binary, "-b", HOST, "-c", command, str(port)],
        env=balance_env(segdir), capture_output=True, text=True, timeout=30)
    if result.returncode == 0:
        totals.control_ok += 1
    else:
        totals.control_failed += 1
        print(f"[soak] control '{command}' failed ({result.returncode}): {result.stderr.strip()}", file=sys.stderr)
    return result


async def one_session(port, rng, totals, max_bytes):
    size = rng.randint(1, max_bytes)
    payload = rng.randbytes(size)
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection(HOST, port), 10)
    except (OSError, asyncio.TimeoutError) as e:
        totals.error("connect: " + type(e).__name__)
        return

    async def send():
        offset = 0
        while offset < size:
            step = rng.randint(1, 65536)
            writer.write(payload[offset:offset + step])
            await writer.drain()
            offset += step
        writer.write_eof()

    received = bytearray()
    try:
        sender = asyncio.ensure_future(send())
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), 30)
            if not chunk:
                break
            received += chunk
        await asyncio.wait_for(sender, 30)
        totals.sessions += 1
        if len(received) == 0:
            # Closed without data: the engine found no usable channel. Not sent, not lost.
            totals.refused += 1
            return
        totals.sent += size
        if bytes(received) == payload:
            totals.verified += size
        else:
            totals.mismatches += 1
            print(f"[soak] mismatch: sent {size} bytes, got {len(received)} back", file=sys.stderr)
    except (OSError, asyncio.TimeoutError) as e:
        totals.sent += size
        totals.mismatches += 1
        totals.error("session: " + type(e).__name__)
    finally:
        writer.close()


async def worker(port, seed, deadline, totals, max_bytes):
    rng = random.Random(seed)
    while time.monotonic() < deadline:
        await one_session(port, rng, totals, max_bytes)


async def churn_channels(binary, segdir, port, backends, deadline, totals, spare):
    """Disable one channel at a time (one always stays up), re-address it while disabled, add channels."""
    rng = random.Random(7)
    loop = asyncio.get_running_loop()
    channels = len(backends)
    step = 0

    async def run(command):
        return await loop.run_in_executor(None, control, binary, segdir, port, command, totals)

    while time.monotonic() < deadline:
        await asyncio.sleep(0.7)
        step += 1
        victim = rng.randrange(channels)
        await run(f"disable {victim}")
        await asyncio.sleep(0.3)
        if step % 3 == 0:
            await run(f"assign {victim} {HOST} {backends[rng.randrange(len(backends))].port}")
        await run(f"enable {victim}")
        if step % 5 == 0 and spare:
            new = spare.pop()
            backends.append(new)
            if (await run(f"create {HOST} {new.port}")).returncode == 0:
                await run(f"enable {channels}")
                channels += 1
                print(f"[soak] {time.strftime('%H:%M:%S')} channel {channels - 1} added ({HOST}:{new.port})", file=sys.stderr)


def proc_figures(pid):
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    rss = 0
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    return fds, rss


async def wait_listening(port, process, timeout):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"balance exited with {process.returncode} before listening")
        try:
            _, writer = await asyncio.open_connection(HOST, port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.1)
    raise RuntimeError("balance did not start listening in time")


def free_port():
    import socket
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def stop_engine(process, binary, segdir, port):
    if process.poll() is None:
        try:
            subprocess.run([binary, "-b", HOST, "-c", "kill", str(port)], env=balance_env(segdir),
                           capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            pass
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=15)


async def main():
    parser = argparse.ArgumentParser(description="bounded Balance soak on loopback")
    parser.add_argument("--balance-bin", required=True)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--workers", type=int, default=48)
    parser.add_argument("--backends", type=int, default=3)
    parser.add_argument("--max-bytes", type=int, default=256 * 1024)
    args = parser.parse_args()
    if args.seconds <= 0 or args.seconds > 3600:
        parser.error("--seconds must be between 1 and 3600")

    totals = Totals()
    backends = [EchoServer() for _ in range(args.backends)]
    spare = [EchoServer() for _ in range(4)]
    everyone = backends + spare
    for b in everyone:
        await b.start()

    segdir = tempfile.mkdtemp(prefix="balance-soak-")
    port = free_port()
    channels = [f"{HOST}:{b.port}" for b in backends]
    log = open(os.path.join(segdir, "engine.log"), "w")
    process = subprocess.Popen([args.balance_bin, "-f", "-b", HOST, "-t", "2", str(port)] + channels,
                               env=balance_env(segdir), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    code = 1
    try:
        await wait_listening(port, process, 30)
        fds0, rss0 = proc_figures(process.pid)
        started = time.monotonic()
        deadline = started + args.seconds
        print(f"[soak] engine pid {process.pid} on {HOST}:{port}, {args.workers} workers, {args.seconds:.0f} s", file=sys.stderr)
        peak_fds, peak_rss = fds0, rss0

        async def sample():
            nonlocal peak_fds, peak_rss
            while time.monotonic() < deadline:
                await asyncio.sleep(1)
                if process.poll() is None:
                    f, r = proc_figures(process.pid)
                    peak_fds, peak_rss = max(peak_fds, f), max(peak_rss, r)

        tasks = [worker(port, 1000 + i, deadline, totals, args.max_bytes) for i in range(args.workers)]
        tasks.append(churn_channels(args.balance_bin, segdir, port, backends, deadline, totals, spare))
        tasks.append(sample())
        await asyncio.gather(*tasks)
        elapsed = time.monotonic() - started
        alive = process.poll() is None
        await asyncio.sleep(1.0)  # let the engine settle its sessions before the closing figures
        fds1, rss1 = proc_figures(process.pid) if alive else (-1, -1)
        show = control(args.balance_bin, segdir, port, "show", totals).stdout if alive else ""

        print(f"duration_s        {elapsed:.1f}")
        print(f"sessions          {totals.sessions}")
        print(f"sessions_refused  {totals.refused}")
        print(f"bytes_sent        {totals.sent}")
        print(f"bytes_verified    {totals.verified}")
        print(f"mismatches        {totals.mismatches}")
        print(f"errors            {totals.errors}")
        print(f"control_commands  {totals.control_ok} ok, {totals.control_failed} failed")
        print(f"engine_fds        start {fds0}, peak {peak_fds}, end {fds1}")
        print(f"engine_rss_kib    start {rss0}, peak {peak_rss}, end {rss1}")
        print(f"throughput_mib_s  {totals.sent / elapsed / 1048576:.1f}")
        print(show.rstrip())
        ok = (alive and totals.sent == totals.verified and totals.mismatches == 0 and not totals.errors
              and totals.sessions > 0 and totals.control_failed == 0)
        print("RESULT " + ("PASS: bytes sent == bytes verified" if ok else "FAIL"))
        code = 0 if ok else 1
    finally:
        stop_engine(process, args.balance_bin, segdir, port)
        log.close()
        for b in everyone:
            await b.stop()
        if code == 0:
            subprocess.run(["rm", "-rf", segdir])
        else:
            print(f"[soak] engine log kept in {segdir}/engine.log", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
