#!/usr/bin/env python3
"""Measurement helpers for bench/run.sh (Python 3.8+, standard library only).

Sub-commands (each measurement appends one JSON object per line to --raw):
  probe       GET / a few times on new connections; print the backends that answered
  bulk        iperf3 throughput + proxy CPU seconds per GB
  http        wrk run (keep-alive or Connection: close) + proxy CPU seconds
  latency     open-loop client: fixed request rate over keep-alive connections, p50/p99
  idle        open N idle connections (one request each), proxy RSS per connection
  idle-worker internal: one process of the idle client
  treestat    print CPU seconds and RSS of a process tree (debugging aid)
  report      turn the raw JSON lines into the markdown table
  compare     put two runs side by side (e.g. 1 worker and N workers): each proxy's gain

Proxy accounting: CPU = utime+stime+cutime+cstime of every live process in the tree
rooted at --pid (cutime/cstime hold the reaped children), user CPU = utime+cutime (the proxy's
own code: the kernel's TCP work is alike for every proxy and swings with the host), RSS = sum
of VmRSS.
"""
import argparse
import collections
import gc
import json
import math
import os
import re
import resource
import selectors
import socket
import statistics
import subprocess
import sys
import time

CLK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"[benchlib] {msg}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- /proc
def _proc_table():
    """pid -> (ppid, cpu ticks incl. reaped children, user-mode ticks of those)."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                s = f.read()
        except OSError:
            continue
        rest = s[s.rindex(")") + 2:].split()
        # rest[0] = state (field 3); ppid = field 4; utime..cstime = fields 14..17
        table[int(name)] = (int(rest[1]), sum(int(x) for x in rest[11:15]),
                            int(rest[11]) + int(rest[13]))
    return table


def tree_pids(root, table=None):
    table = table if table is not None else _proc_table()
    children = collections.defaultdict(list)
    for pid, (ppid, *_) in table.items():
        children[ppid].append(pid)
    out, stack = [], [root]
    while stack:
        p = stack.pop()
        if p in table:
            out.append(p)
            stack.extend(children.get(p, ()))
    return out


def tree_cpu(root):
    """(CPU seconds, of which user mode) of the tree rooted at root, from one look at /proc."""
    if not root:
        return None
    table = _proc_table()
    pids = tree_pids(root, table)
    if not pids:
        return None
    return (sum(table[p][1] for p in pids) / CLK, sum(table[p][2] for p in pids) / CLK)


def tree_cpu_seconds(root):
    both = tree_cpu(root)
    return both[0] if both else None


def tree_rss_kib(root):
    if not root:
        return None
    total, found = 0, False
    for p in tree_pids(root):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        found = True
                        break
        except OSError:
            pass
    return total if found else None


def established_per_port(ports):
    """Count ESTABLISHED sockets whose local port is in ports (server side)."""
    counts = {p: 0 for p in ports}
    for fn in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(fn) as f:
                next(f)
                for line in f:
                    parts = line.split()
                    if parts[3] != "01":
                        continue
                    lport = int(parts[1].rsplit(":", 1)[1], 16)
                    if lport in counts:
                        counts[lport] += 1
        except OSError:
            pass
    return counts


def alive(pid):
    if not pid:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return s[s.rindex(")") + 2] != "Z"
    except OSError:
        return False


# --------------------------------------------------------------------------- records
def emit(args, scenario, ok, **fields):
    rec = {"scenario": scenario, "proxy": args.proxy, "rep": args.rep, "ok": ok,
           "time": time.time()}
    rec.update(fields)
    line = json.dumps(rec, sort_keys=True)
    if args.raw:
        with open(args.raw, "a") as f:
            f.write(line + "\n")
    print(line, flush=True)


def run_tool(cmd, timeout):
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=timeout)
        return p.returncode, p.stdout, p.stderr
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        return -999, out, f"timed out after {timeout}s"


# --------------------------------------------------------------------------- probe
def http_get(host, port, timeout=3.0, close=True):
    with socket.create_connection((host, port), timeout=timeout) as s:
        hdr = "Connection: close\r\n" if close else ""
        s.sendall(f"GET / HTTP/1.1\r\nHost: bench\r\n{hdr}\r\n".encode())
        buf = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            buf += chunk
            r = _parse_response(buf)
            if r is not None:
                return buf[r[0] - r[1]:r[0]].decode(errors="replace").strip()
    raise ConnectionError("connection closed before a full response")


def cmd_probe(a):
    seen, errors = collections.Counter(), []
    deadline = time.monotonic() + a.timeout
    for _ in range(a.count):
        try:
            seen[http_get(a.host, a.port, timeout=max(0.5, deadline - time.monotonic()))] += 1
        except Exception as e:  # noqa: BLE001 - report any failure
            errors.append(repr(e))
        if time.monotonic() > deadline:
            break
    print(json.dumps({"bodies": dict(seen), "errors": errors}))
    return 0 if seen and not errors else 1


# --------------------------------------------------------------------------- bulk
def cmd_bulk(a):
    cmd = ["iperf3", "-c", a.host, "-p", str(a.port), "-t", str(a.duration), "-O", "1",
           "-P", str(a.streams), "-J", "--connect-timeout", "3000"]
    err = ""
    for attempt in range(3):
        if not alive(a.pid):
            err = "proxy process is gone"
            break
        cpu0 = tree_cpu_seconds(a.pid)
        rc, out, stderr = run_tool(cmd, a.duration + 30)
        cpu1 = tree_cpu_seconds(a.pid)
        try:
            j = json.loads(out)
        except ValueError:
            j = {"error": (stderr or out or f"rc={rc}").strip()[:300]}
        if "error" in j or rc != 0:
            err = str(j.get("error", f"iperf3 rc={rc}"))
            log(f"iperf3 attempt {attempt + 1} failed: {err}")
            time.sleep(2)  # "server is busy" clears when the last test ends
            continue
        gbps = j["end"]["sum_received"]["bits_per_second"] / 1e9
        # bytes moved over the whole run, incl. the omitted first second (CPU covers it too)
        moved = sum(iv["sum"]["bytes"] for iv in j.get("intervals", []))
        cpu = None if cpu0 is None or cpu1 is None else cpu1 - cpu0
        cpu_per_gb = None if cpu is None or moved <= 0 else cpu / (moved / 1e9)
        emit(a, a.scenario, True, gbps=gbps, bytes=moved, proxy_cpu_s=cpu,
             cpu_s_per_gb=cpu_per_gb)
        return 0
    emit(a, a.scenario, False, error=err)
    return 1


# --------------------------------------------------------------------------- wrk
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3, "h": 3600e3}


def _ms(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    return float(m.group(1)) * _UNITS[m.group(2)] if m else None


def parse_wrk(out):
    r = {}
    m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m|h)", out)
    if m:
        r["requests"] = int(m.group(1))
        r["secs"] = float(m.group(2)) * _UNITS[m.group(3)] / 1e3
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        r["rps"] = float(m.group(1))
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}(?:\.0+)?%\s+(\S+)", out, re.M)
        if m:
            r[f"p{pct}_ms"] = _ms(m.group(1))
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    r["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    r["non2xx"] = int(m.group(1)) if m else 0
    return r


class _WrkTotals:
    """What the slices of one target add up to."""

    def __init__(self, proxy, port, pid):
        self.proxy, self.port, self.pid = proxy, port, pid
        self.requests, self.secs, self.cpu, self.user, self.errors = 0, 0.0, 0.0, 0.0, 0
        self.p50, self.p99 = [], []
        self.failed = ""


def _wrk_slice(a, base, tgt, secs):
    """One wrk run of secs seconds against tgt, added to its totals."""
    url = f"http://{a.host}:{tgt.port}/"
    if not alive(tgt.pid):
        tgt.failed = "proxy process is gone"
        return
    before = tree_cpu(tgt.pid)
    rc, out, err = run_tool(base + [f"-d{secs}s", url], secs + 30)
    after = tree_cpu(tgt.pid)
    r = parse_wrk(out)
    if rc != 0 or "rps" not in r or not r.get("requests"):
        tgt.failed = f"wrk rc={rc}: {(err or out).strip()[:300]}"
        return
    tgt.requests += r["requests"]
    tgt.secs += r.get("secs") or r["requests"] / r["rps"]
    tgt.errors += r["socket_errors"] + r["non2xx"]
    if before is None or after is None or tgt.cpu is None:
        tgt.cpu = tgt.user = None
    else:
        tgt.cpu += after[0] - before[0]
        tgt.user += after[1] - before[1]
    for k, v in (("p50_ms", tgt.p50), ("p99_ms", tgt.p99)):
        if r.get(k) is not None:
            v.append(r[k])


def cmd_http(a):
    """wrk against one target, or several in turn: with several --target each gets
    --duration seconds in slices of --slice seconds, visiting the targets in an order that
    rotates every round, so that the host's slow swings fall on all of them alike."""
    base = ["wrk", f"-t{max(1, min(a.threads, a.conns))}", f"-c{a.conns}", "--latency"]
    if a.close:
        base += ["-H", "Connection: close"]
    targets = [_WrkTotals(*t) for t in _parse_targets(a)]
    for tgt in targets:
        if not alive(tgt.pid):
            tgt.failed = "proxy process is gone"
        elif a.warmup > 0:
            run_tool(base + [f"-d{a.warmup}s", f"http://{a.host}:{tgt.port}/"], a.warmup + 20)
            time.sleep(0.3)
    slice_len = a.duration if len(targets) == 1 else max(1, min(a.slice, a.duration))
    rounds = max(1, round(a.duration / slice_len))
    for tgt in _in_turns(targets, rounds):
        if not tgt.failed:
            _wrk_slice(a, base, tgt, slice_len)
            time.sleep(0.3)
    rc = 0
    for tgt in targets:
        a.proxy = tgt.proxy
        if tgt.failed:
            emit(a, a.scenario, False, error=tgt.failed)
            rc = 1
            continue
        r = dict(requests=tgt.requests, secs=tgt.secs, rps=tgt.requests / tgt.secs,
                 p50_ms=statistics.median(tgt.p50) if tgt.p50 else None,
                 p50_min_ms=min(tgt.p50) if tgt.p50 else None,
                 p50_max_ms=max(tgt.p50) if tgt.p50 else None,
                 p99_ms=statistics.median(tgt.p99) if tgt.p99 else None,
                 p99_max_ms=max(tgt.p99) if tgt.p99 else None,
                 errors=tgt.errors, slices=rounds, slice_s=slice_len)
        if tgt.cpu is not None:
            r["proxy_cpu_s"] = tgt.cpu
            r["cpu_s_per_10k"] = tgt.cpu / (tgt.requests / 1e4)
            r["cpu_s_per_1m"] = tgt.cpu / (tgt.requests / 1e6)
            r["user_cpu_s_per_1m"] = tgt.user / (tgt.requests / 1e6)
        if tgt.errors > max(10, tgt.requests // 1000):
            emit(a, a.scenario, False, error=f"{tgt.errors} errors out of {tgt.requests}", **r)
            rc = 1
            continue
        emit(a, a.scenario, True, **r)
    return rc


# --------------------------------------------------------------------------- latency
_CL = re.compile(rb"\r\ncontent-length:\s*(\d+)", re.I)


def _parse_response(buf):
    """Return (total_length, body_length) of the first complete response in buf, or None."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return None
    m = _CL.search(buf, 0, end + 2)
    body = int(m.group(1)) if m else 0
    total = end + 4 + body
    return (total, body) if len(buf) >= total else None


class _Conn:
    __slots__ = ("sock", "buf", "sent_at", "send_t", "busy", "target")

    def __init__(self, sock, target):
        self.sock, self.buf, self.sent_at, self.send_t, self.busy = sock, b"", 0.0, 0.0, False
        self.target = target


class _Target:
    """One proxy (or direct) under the fixed-rate load: its connections and its samples."""

    def __init__(self, proxy, port, pid):
        self.proxy, self.port, self.pid = proxy, port, pid
        self.conns, self.idle = [], collections.deque()
        self.lat, self.svc, self.late = [], [], []
        self.errors, self.max_backlog, self.scheduled = 0, 0, 0
        self.windows = collections.defaultdict(list)  # window index -> latencies in it
        self.failed = ""

    def drop(self, c):
        """The connection is gone: count an answer it owed, never use it again."""
        if c.busy:
            self.errors += 1
        c.busy = False
        if c in self.idle:
            self.idle.remove(c)
        if c in self.conns:
            self.conns.remove(c)

    def send(self, scheduled, clock):
        """Send the request scheduled at `scheduled` on an idle connection; False if there is
        none (the request keeps waiting)."""
        while self.idle:
            c = self.idle.popleft()
            c.sent_at, c.send_t = scheduled, clock()
            try:
                if c.sock.send(_REQ) != len(_REQ):
                    raise OSError("short send")
            except OSError:
                self.errors += 1
                self.drop(c)
                continue
            c.busy = True
            return True
        return False

    def busy(self):
        return sum(1 for c in self.conns if c.busy)

    def window_p99_median(self):
        """Median over the measured windows of each window's p99."""
        return statistics.median(_pct(99, sorted(v)) for v in self.windows.values())


def _tight_timer_slack():
    """Ask for 1 us timer slack (default 50 us) so that sends leave on schedule."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(29, 1000, 0, 0, 0)  # PR_SET_TIMERSLACK, in ns
    except Exception:  # noqa: BLE001 - best effort only
        pass


_REQ = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"


def _on_readable(c):
    """Read what arrived on c; True when it completed the response c was waiting for."""
    tgt = c.target
    try:
        data = c.sock.recv(65536)
    except BlockingIOError:
        return False
    except OSError:
        data = b""
    if not data:
        tgt.drop(c)
        return None
    c.buf += data
    r = _parse_response(c.buf)
    if r is None or not c.busy:
        return False
    c.buf = c.buf[r[0]:]
    c.busy = False
    tgt.idle.append(c)
    return True


def _run_interleaved(sel, targets, interval, t_start, t_record, t_end, window):
    """Schedule a request to every target each interval from t_start until t_end and return
    once every answer is in. The targets' schedules are spread evenly over the interval and
    their order rotates every interval, so at any moment all of them meet the same host.
    Samples count from requests scheduled at or after t_record, in windows of `window` s."""
    now = time.perf_counter
    n = len(targets)
    step = interval / n
    seq = 0
    next_t = t_start
    hard_stop = t_end + 10.0
    waiting = []  # (scheduled time, target) not sent yet, oldest first, over all targets
    while True:
        t = now()
        while next_t <= t and next_t < t_end:
            tgt = targets[(seq + seq // n) % n]
            waiting.append((next_t, tgt))
            if next_t >= t_record:
                tgt.scheduled += 1
            seq += 1
            next_t = t_start + seq * step  # from the start, so no rounding error adds up
        # Oldest first over all targets: a fixed target order would make the last target's
        # requests the latest whenever the client falls behind.
        still = []
        for item in waiting:
            tgt = item[1]
            if not tgt.send(item[0], now):
                if tgt.conns:
                    still.append(item)
                else:  # every connection died: what waits for one is lost
                    tgt.errors += 1
        waiting = still
        if waiting:
            for tgt in targets:
                tgt.max_backlog = max(tgt.max_backlog, sum(1 for w in waiting if w[1] is tgt))
        busy = sum(tgt.busy() for tgt in targets)
        if next_t >= t_end and busy == 0 and not waiting:
            return
        if t > hard_stop:
            for tgt in targets:
                tgt.errors += tgt.busy()
            for _, tgt in waiting:
                tgt.errors += 1
            return
        timeout = max(0.0, next_t - now()) if next_t < t_end else 0.05
        ready = sel.select(timeout)
        d = now()  # every answer in this batch was there by now, whatever order they are read in
        for key, _ in ready:
            c = key.data
            done = _on_readable(c)
            if done is None:
                sel.unregister(c.sock)
            elif done and c.sent_at >= t_record:
                tgt = c.target
                ms = (d - c.sent_at) * 1e3
                tgt.lat.append(ms)
                tgt.svc.append((d - c.send_t) * 1e3)
                tgt.late.append((c.send_t - c.sent_at) * 1e3)
                tgt.windows[int((c.sent_at - t_record) / window)].append(ms)


def _pct(p, v):
    """p-th percentile (nearest rank) of the sorted list v."""
    return v[min(len(v) - 1, max(0, math.ceil(p / 100 * len(v)) - 1))]


def _in_turns(targets, rounds):
    """Every target once per round, the order rotating by one from round to round, so that no
    target always follows the same one."""
    for r in range(rounds if targets else 0):
        k = r % len(targets)
        yield from targets[k:] + targets[:k]


def _parse_targets(a):
    """(name, port, pid) of each --target, or of --proxy/--port/--pid when there is none."""
    if not a.target:
        if a.port is None:
            raise SystemExit(f"{a.cmd} needs --port or at least one --target NAME:PORT:PID")
        return [(a.proxy, a.port, a.pid)]
    out = []
    for spec in a.target:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+):(\d+):(\d+)", spec)
        if not m:
            raise SystemExit(f"--target must be NAME:PORT:PID (got '{spec}')")
        out.append((m.group(1), int(m.group(2)), int(m.group(3))))
    return out


def cmd_latency(a):
    """Open-loop load: requests are scheduled at a fixed rate; latency is measured from
    the *scheduled* time (so queueing behind a slow response counts, no coordinated
    omission). A scheduled request goes to any idle connection; if none is idle it
    waits in a backlog (its wait counts as latency).

    With several --target every target gets --rate requests a second at the same time,
    their requests interleaved one by one: the host's noise, which comes in bursts, then
    falls on every target alike instead of on whichever was measured during the burst."""
    if a.rate <= 0 or a.window <= 0 or a.warmup < 0 or a.duration < 1:
        raise SystemExit("latency needs --rate and --window above 0, --warmup of 0 or more "
                         "and --duration of at least 1")
    targets = [_Target(*t) for t in _parse_targets(a)]
    # select(2) takes a microsecond timeout; epoll/poll round up to whole milliseconds,
    # which would add up to 1 ms of send lateness to every latency sample.
    sel = selectors.SelectSelector()
    _tight_timer_slack()
    gc.disable()  # no collector pauses inside the measured loop
    for tgt in targets:
        if not alive(tgt.pid):
            tgt.failed = "proxy process is gone"
            continue
        try:
            for _ in range(a.conns):
                s = socket.create_connection((a.host, tgt.port), timeout=5)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.setblocking(False)
                c = _Conn(s, tgt)
                tgt.conns.append(c)
                tgt.idle.append(c)
                sel.register(s, selectors.EVENT_READ, c)
        except OSError as e:
            tgt.failed = f"connect: {e!r}"
    live = [t for t in targets if not t.failed]
    if live:
        t0 = time.perf_counter() + 0.01
        t_record = t0 + a.warmup  # the warm-up is the same run, not measured
        _run_interleaved(sel, live, 1.0 / a.rate, t0, t_record, t_record + a.duration,
                         a.window)
    for tgt in targets:
        for c in tgt.conns:
            c.sock.close()
    rc = 0
    for tgt in targets:
        if not _emit_latency(a, tgt, len(live)):
            rc = 1
    return rc


def _emit_latency(a, tgt, n_live):
    a.proxy = tgt.proxy
    if tgt.failed:
        emit(a, a.scenario, False, error=tgt.failed)
        return False
    if not tgt.lat:
        emit(a, a.scenario, False, error=f"no responses ({tgt.errors} errors)")
        return False
    lat, svc, late = sorted(tgt.lat), sorted(tgt.svc), sorted(tgt.late)
    res = dict(p50_ms=_pct(50, lat), p99_ms=_pct(99, lat), max_ms=lat[-1], responses=len(lat),
               window_p99_median_ms=tgt.window_p99_median(),
               svc_p50_ms=_pct(50, svc), svc_p99_ms=_pct(99, svc),
               send_late_p50_ms=_pct(50, late), send_late_p99_ms=_pct(99, late),
               achieved_rps=len(lat) / a.duration, target_rps=a.rate,
               errors=tgt.errors, max_backlog=tgt.max_backlog,
               windows=len(tgt.windows), window_s=a.window, interleaved_with=n_live - 1)
    ok = tgt.errors == 0 and len(lat) >= 0.95 * tgt.scheduled
    if not ok:
        res["error"] = f"{tgt.errors} errors, {len(lat)} responses for {tgt.scheduled} scheduled"
    emit(a, a.scenario, ok, **res)
    return ok


# --------------------------------------------------------------------------- idle
def _raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def cmd_idle_worker(a):
    """Open a.n connections (a.inflight at a time until the response arrives), report,
    then wait for commands on stdin: 'check' -> count still-open connections, 'close'."""
    _raise_nofile()
    req = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
    sel = selectors.DefaultSelector()
    done_socks, failed, retries = [], 0, 0
    todo = collections.deque([0] * a.n)  # attempt counters
    inflight = {}  # sock -> [attempt, started, buf, sent]
    t0 = time.monotonic()
    deadline = t0 + a.timeout

    def finish(s, good):
        nonlocal failed, retries
        att = inflight.pop(s)[0]
        sel.unregister(s)
        if good:
            done_socks.append(s)
            return
        s.close()
        if att + 1 < 3:
            retries += 1
            todo.append(att + 1)
        else:
            failed += 1

    while (todo or inflight) and time.monotonic() < deadline:
        while todo and len(inflight) < a.inflight:
            att = todo.popleft()
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            try:
                s.connect((a.host, a.port))
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                failed += 1
                continue
            inflight[s] = [att, time.monotonic(), b"", False]
            sel.register(s, selectors.EVENT_WRITE)
        for key, ev in sel.select(0.2):
            s = key.fileobj
            st = inflight[s]
            if not st[3]:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) != 0:
                    finish(s, False)
                    continue
                try:
                    s.send(req)
                except OSError:
                    finish(s, False)
                    continue
                st[3] = True
                sel.modify(s, selectors.EVENT_READ)
                continue
            try:
                data = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                finish(s, False)
                continue
            st[2] += data
            if _parse_response(st[2]) is not None:
                finish(s, True)
        t = time.monotonic()
        for s in [s for s, st in inflight.items() if t - st[1] > 10.0]:
            finish(s, False)
    failed += len(todo) + len(inflight)
    for s in list(inflight):
        sel.unregister(s)
        s.close()
    print(json.dumps({"opened": len(done_socks), "failed": failed, "retries": retries,
                      "open_secs": time.monotonic() - t0}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "check":
            n_alive = 0
            for s in done_socks:
                try:
                    if s.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) != b"":
                        n_alive += 1  # unexpected data, still open
                except BlockingIOError:
                    n_alive += 1
                except OSError:
                    pass
            print(json.dumps({"alive": n_alive}), flush=True)
        elif cmd == "close":
            break
    for s in done_socks:
        s.close()
    return 0


def cmd_idle(a):
    if not alive(a.pid):
        emit(a, a.scenario, False, error="proxy process is gone", asked=a.n)
        return 1
    hard = _raise_nofile()
    per_proc = max(100, hard - 200)
    nproc = max(1, math.ceil(a.n / per_proc))
    sizes = [a.n // nproc + (1 if i < a.n % nproc else 0) for i in range(nproc)]
    ports = [int(p) for p in a.backend_ports.split(",") if p]
    time.sleep(0.5)
    rss0 = tree_rss_kib(a.pid)
    workers = []
    for n in sizes:
        workers.append(subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "idle-worker", "--host", a.host,
             "--port", str(a.port), "--n", str(n),
             "--inflight", str(max(1, a.inflight // nproc)), "--timeout", str(a.timeout)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True))
    res = {"asked": a.n, "processes": nproc}
    try:
        opened = failed = retries = 0
        secs = 0.0
        for w in workers:
            line = w.stdout.readline()
            if not line:
                raise RuntimeError("idle worker exited early")
            r = json.loads(line)
            opened += r["opened"]
            failed += r["failed"]
            retries += r["retries"]
            secs = max(secs, r["open_secs"])
        time.sleep(a.settle)
        rss1 = tree_rss_kib(a.pid)
        n_alive = 0
        for w in workers:
            w.stdin.write("check\n")
            w.stdin.flush()
            n_alive += json.loads(w.stdout.readline())["alive"]
        split = established_per_port(ports)
        res.update(opened=opened, failed=failed, retries=retries, open_secs=secs,
                   alive=n_alive, backend_split=[split[p] for p in ports],
                   rss0_kib=rss0, rss_kib=rss1)
        if rss0 is not None and rss1 is not None and opened:
            res["kib_per_conn"] = (rss1 - rss0) / opened
            res["rss_mib"] = rss1 / 1024
        ok = n_alive == a.n and alive(a.pid)
        if not ok:
            res["error"] = f"{n_alive}/{a.n} connections alive"
        emit(a, a.scenario, ok, **res)
        return 0 if ok else 1
    except Exception as e:  # noqa: BLE001
        emit(a, a.scenario, False, error=repr(e), **res)
        return 1
    finally:
        for w in workers:
            try:
                w.stdin.write("close\n")
                w.stdin.close()
            except OSError:
                pass
        for w in workers:
            try:
                w.wait(timeout=20)
            except subprocess.TimeoutExpired:
                w.kill()
                w.wait()


def cmd_treestat(a):
    print(json.dumps({"pids": tree_pids(a.pid), "cpu_s": tree_cpu_seconds(a.pid),
                      "rss_kib": tree_rss_kib(a.pid)}))
    return 0


def cmd_established(a):
    ports = [int(p) for p in a.ports.split(",") if p]
    print(sum(established_per_port(ports).values()))
    return 0


# --------------------------------------------------------------------------- report
# (scenario, field, label, higher_is_better, format, needs_proxy)
ROWS = [
    ("bulk_1", "gbps", "bulk 1 stream: Gbit/s", True, "{:.1f}", False),
    ("bulk_8", "gbps", "bulk 8 streams: Gbit/s", True, "{:.1f}", False),
    ("bulk_1", "cpu_s_per_gb", "bulk 1 stream: proxy CPU s per GB", False, "{:.3f}", True),
    ("bulk_8", "cpu_s_per_gb", "bulk 8 streams: proxy CPU s per GB", False, "{:.3f}", True),
    ("http_ka_c50", "rps", "keep-alive c=50: req/s", True, "{:.0f}", False),
    ("http_ka_c50", "p99_ms", "keep-alive c=50: p99 ms", False, "{:.2f}", False),
    ("http_ka_c50", "cpu_s_per_1m", "keep-alive c=50: proxy CPU s per 1M req", False,
     "{:.1f}", True),
    ("http_ka_c50", "user_cpu_s_per_1m", "keep-alive c=50: of which user mode", False,
     "{:.2f}", True),
    ("http_ka_c1", "rps", "keep-alive c=1: req/s", True, "{:.0f}", False),
    ("http_ka_c1", "p50_ms", "keep-alive c=1: p50 ms", False, "{:.3f}", False),
    ("http_ka_c1", "p99_ms", "keep-alive c=1: p99 ms", False, "{:.3f}", False),
    ("http_close_c50", "rps", "new conn per request c=50: conn/s", True, "{:.0f}", False),
    ("http_close_c50", "cpu_s_per_10k", "new conn per request: proxy CPU s per 10k conns",
     False, "{:.2f}", True),
    ("latency_fixed", "p50_ms", "fixed rate: p50 ms", False, "{:.3f}", False),
    ("latency_fixed", "p99_ms", "fixed rate: p99 ms", False, "{:.3f}", False),
    ("latency_fixed", "window_p99_median_ms", "fixed rate: p99 ms of a typical 0.5 s window "
     "(median over windows)", False, "{:.3f}", False),
    ("idle", "rss_mib", "idle: proxy RSS MiB at N", False, "{:.1f}", True),
    ("idle", "kib_per_conn_first", "idle: KiB per connection ((RSS at N - RSS before the "
     "first idle test) / N)", False, "{:.1f}", True),
    ("idle", "open_secs", "idle: seconds to open N (200 in flight)", False, "{:.1f}", False),
]


def _fmt(fmt, v):
    return "-" if v is None else fmt.format(v)


def _paired_table(rows, proxies, by_rep):
    """Lines of a table of each peer's ratio to haproxy taken within each rep, as the median
    over reps (and the range): the slots of one rep share the host's state, so a rep in which
    the host was slow for everyone moves the ratio of two medians but not these."""
    peers = [p for p in proxies if p not in ("direct", "haproxy")]
    out = []
    paired = False
    for scen, field, label, hib, fmt, needs_proxy in rows:
        if scen == "idle":
            continue
        h = by_rep.get((scen, field, "haproxy"), {})
        cells = []
        for p in peers:
            v = by_rep.get((scen, field, p), {})
            ratios = sorted(v[k] / h[k] for k in v if k in h and h[k])
            if len(ratios) < 2:
                cells.append("-")
                continue
            paired = True
            cells.append(f"{statistics.median(ratios):.2f}x ({ratios[0]:.2f}-{ratios[-1]:.2f})")
        better = " (higher=better)" if hib else " (lower=better)"
        out.append(f"| {label}{better} | " + " | ".join(cells) + " |")
    if not paired:  # one rep, or no haproxy: nothing to pair
        return []
    head = ["", "Ratio to haproxy within each rep, median over reps (lowest-highest):", "",
            "| scenario / metric | " + " | ".join(peers) + " |", "|---|" + "---|" * len(peers)]
    return head + out


def _load_run(raw, meta_path):
    """(meta, records) of one run; kib_per_conn_first is added to the idle records."""
    meta = {}
    if meta_path and os.path.exists(meta_path):
        with open(meta_path) as f:
            meta = json.load(f)
    recs = []
    if os.path.exists(raw):
        with open(raw) as f:
            recs = [json.loads(line) for line in f if line.strip()]
    # RSS at 0 is taken from the proxy's first idle test: after a test with N connections a
    # proxy's allocator keeps most of that memory, so a later "RSS at 0" is not a baseline.
    first_rss0 = {}
    for r in sorted(recs, key=lambda r: (r["rep"], r.get("time", 0))):
        if r["scenario"] == "idle" and r.get("rss0_kib") is not None:
            first_rss0.setdefault(r["proxy"], r["rss0_kib"])
    for r in recs:
        if r["scenario"] == "idle" and r.get("ok") and r.get("rss_kib") is not None \
                and r["proxy"] in first_rss0 and r.get("opened"):
            r["kib_per_conn_first"] = (r["rss_kib"] - first_rss0[r["proxy"]]) / r["opened"]
    return meta, recs


def _pinning_line(meta):
    w = meta.get("workers", 1)
    if w <= 1:
        return ("- Pinning: proxy under test on CPU 0, load generator + backends on CPU 1; "
                "direct = no proxy, all on CPU 1.")
    return (f"- Scaling mode, {w} workers: haproxy nbthread {w}, nginx worker_processes {w}, "
            f"balance --workers {w}. Nothing is pinned: the proxies, the load generators (wrk "
            f"-t{w} for c=50) and the backends (nginx worker_processes {w}) share CPUs "
            f"{meta.get('cpus', 'all')}; direct = no proxy.")


def cmd_report(a):
    meta, recs = _load_run(a.raw, a.meta)
    proxies = meta.get("proxies") or sorted({r["proxy"] for r in recs})
    reps = meta.get("reps") or max([r["rep"] for r in recs] or [1])
    vals = collections.defaultdict(list)  # (scenario, field, proxy) -> [values]
    by_rep = collections.defaultdict(dict)  # (scenario, field, proxy) -> {rep: value}
    fails = collections.defaultdict(list)  # (scenario, proxy) -> [errors]
    idle_extra = collections.defaultdict(list)
    for r in recs:
        if not r.get("ok"):
            fails[(r["scenario"], r["proxy"])].append(r.get("error", "failed"))
            continue
        for k, v in r.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                vals[(r["scenario"], k, r["proxy"])].append(v)
                by_rep[(r["scenario"], k, r["proxy"])][r["rep"]] = v
        if r["scenario"] == "idle":
            idle_extra[r["proxy"]].append(r)

    def med(scen, field, proxy):
        v = vals.get((scen, field, proxy))
        return statistics.median(v) if v else None

    # A run limited with --scenarios has rows for what it ran only.
    ran = {r["scenario"] for r in recs}
    rows = [row for row in ROWS if row[0] in ran]
    idle_n = meta.get("idle_n", "N")
    L = []
    w = meta.get("workers", 1)
    L.append(f"## Balance side-by-side benchmark ({meta.get('started', '')})"
             + (f", {w} workers" if w > 1 else ""))
    L.append("")
    L.append(f"- {reps} rep(s) x {meta.get('duration', '?')} s per run; medians over reps; "
             f"proxy order rotated between reps; idle N = {idle_n}; "
             f"fixed rate = {meta.get('rate', '?')} req/s to each slot over "
             f"{meta.get('rate_conns', '?')} keep-alive connections, all slots at once "
             "(requests interleaved one by one).")
    L.append(_pinning_line(meta))
    if meta.get("versions"):
        L.append("- " + "; ".join(f"{k}: {v}" for k, v in meta["versions"].items()))
    if meta.get("machine"):
        L.append(f"- Machine: {meta['machine']}")
    L.append("- Cell = median (ratio to direct, ratio to haproxy). Ratio = value / reference;"
             " each row says whether higher or lower is better. Differences below ~0.15 "
             "between peers are within noise.")
    L.append("")
    L.append("| scenario / metric | " + " | ".join(proxies) + " |")
    L.append("|---|" + "---|" * len(proxies))
    for scen, field, label, hib, fmt, needs_proxy in rows:
        label = label.replace(" N", f" {idle_n}") if scen == "idle" else label
        label += " (higher=better)" if hib else " (lower=better)"
        d = med(scen, field, "direct")
        h = med(scen, field, "haproxy")
        cells = []
        for p in proxies:
            if p == "direct" and needs_proxy:
                cells.append("-")
                continue
            v = med(scen, field, p)
            n_ok = len(vals.get((scen, field, p), []))
            n_fail = len(fails.get((scen, p), []))
            if v is None:
                cells.append("failed" if n_fail else "n/a")
                continue
            parts = []
            if p != "direct" and d:
                parts.append(f"{v / d:.2f}x d")
            if p not in ("haproxy", "direct") and h:
                parts.append(f"{v / h:.2f}x h")
            cell = _fmt(fmt, v)
            if parts:
                cell += " (" + ", ".join(parts) + ")"
            if n_fail:
                cell += f" [{n_ok}/{n_ok + n_fail} ok]"
            cells.append(cell)
        L.append(f"| {label} | " + " | ".join(cells) + " |")
    # idle sanity row: alive/asked and backend split
    if "idle" in ran:
        cells = []
        for p in proxies:
            rs = idle_extra.get(p)
            if not rs:
                cells.append("failed" if fails.get(("idle", p)) else "n/a")
                continue
            r = rs[-1]
            cells.append(f"{r['alive']}/{r['asked']}, split " + "/".join(map(str, r["backend_split"])))
        L.append(f"| idle {idle_n}: alive/asked, backend split (last rep) | " + " | ".join(cells) + " |")
    # spread table
    if reps > 1:
        L.append("")
        L.append("Spread between reps, (max - min) / median:")
        L.append("")
        L.append("| scenario / metric | " + " | ".join(proxies) + " |")
        L.append("|---|" + "---|" * len(proxies))
        for scen, field, label, hib, fmt, needs_proxy in rows:
            if scen == "idle":
                continue
            cells = []
            for p in proxies:
                v = vals.get((scen, field, p))
                if not v or (p == "direct" and needs_proxy):
                    cells.append("-")
                    continue
                m = statistics.median(v)
                cells.append(f"{(max(v) - min(v)) / m * 100:.0f}%" if m else "-")
            L.append(f"| {label} | " + " | ".join(cells) + " |")
    L.extend(_paired_table(rows, proxies, by_rep))
    all_fails = [(s, p, e) for (s, p), es in sorted(fails.items()) for e in es]
    if all_fails:
        L.append("")
        L.append("Failures:")
        L.append("")
        for s, p, e in all_fails:
            e = " ".join(str(e).split())
            L.append(f"- {p} / {s}: {e[:200]}")
    for note in meta.get("notes", []):
        L.append("")
        L.append(f"Note: {note}")
    if meta.get("wall_secs"):
        L.append("")
        L.append(f"Wall time: {meta['wall_secs']:.0f} s.")
    text = "\n".join(L) + "\n"
    if a.out:
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            f.write(text)
    sys.stdout.write(text)
    return 0


def _run_paths(path):
    """(raw, meta) of a run named by its report (X.md), its raw data (X.raw.jsonl) or X."""
    base = path[:-len(".md")] if path.endswith(".md") else path
    base = base[:-len(".raw.jsonl")] if base.endswith(".raw.jsonl") else base
    return base + ".raw.jsonl", base + ".meta.json"


def cmd_compare(a):
    """Two runs side by side, the one with fewer workers first: each cell is that run's median,
    then the other run's, then gain = other / first for the same proxy. The two runs differ in
    more than the workers (the default run pins, the scaling run does not), and each run's
    noise is its own: read the gains, and the gain ratio to haproxy's, not small differences."""
    runs = []
    for path in (a.first, a.second):
        raw, meta_path = _run_paths(path)
        if not os.path.exists(raw):
            raise SystemExit(f"compare: no raw data at {raw}")
        meta, recs = _load_run(raw, meta_path)
        vals = collections.defaultdict(list)
        for r in recs:
            if r.get("ok"):
                for k, v in r.items():
                    if isinstance(v, (int, float)) and not isinstance(v, bool):
                        vals[(r["scenario"], k, r["proxy"])].append(v)
        proxies = meta.get("proxies") or sorted({r["proxy"] for r in recs})
        runs.append((meta, vals, proxies, {r["scenario"] for r in recs}, path))
    runs.sort(key=lambda run: run[0].get("workers", 1))
    (m1, v1, p1, s1, f1), (m2, v2, p2, s2, f2) = runs
    w1, w2 = m1.get("workers", 1), m2.get("workers", 1)
    proxies = [p for p in p1 if p in p2]

    def med(vals, scen, field, proxy):
        v = vals.get((scen, field, proxy))
        return statistics.median(v) if v else None

    gain_col = "balance" in proxies and "haproxy" in proxies
    title = f"{w1} worker{'s' if w1 > 1 else ''} beside {w2} workers" if w1 != w2 \
        else f"two runs with {w1} worker{'s' if w1 > 1 else ''}"
    L = ["", f"## Scaling: {title}", ""]
    for w, m, f in ((w1, m1, f1), (w2, m2, f2)):
        L.append(f"- {w} worker(s): {os.path.basename(f)}, {m.get('started', '?')}, "
                 f"{m.get('reps', '?')} rep(s) x {m.get('duration', '?')} s. "
                 + _pinning_line(m)[2:])
    L.append(f"- Cell = {w1}-worker median -> {w2}-worker median (gain = {w2}-worker / "
             f"{w1}-worker). Where lower is better (latency, CPU per work) a gain below 1 is "
             "the improvement." + (" Last column: balance's gain / haproxy's gain (for a "
                                   "lower-is-better row, below 1 means balance gained more)."
                                   if gain_col else ""))
    L.append("")
    L.append("| scenario / metric | " + " | ".join(proxies)
             + (" | balance gain / haproxy gain |" if gain_col else " |"))
    L.append("|---|" + "---|" * (len(proxies) + gain_col))
    for scen, field, label, hib, fmt, needs_proxy in ROWS:
        if scen not in s1 or scen not in s2:
            continue
        if scen == "idle" and m1.get("idle_n") == m2.get("idle_n"):
            label = label.replace(" N", f" {m1.get('idle_n', 'N')}")
        label += " (higher=better)" if hib else " (lower=better)"
        cells, gains = [], {}
        for p in proxies:
            if p == "direct" and needs_proxy:
                cells.append("-")
                continue
            x, y = med(v1, scen, field, p), med(v2, scen, field, p)
            if x is None and y is None:
                cells.append("n/a")
                continue
            cell = f"{_fmt(fmt, x) if x is not None else 'failed'} -> " \
                   f"{_fmt(fmt, y) if y is not None else 'failed'}"
            if x and y is not None:
                gains[p] = y / x
                cell += f" ({gains[p]:.2f}x)"
            cells.append(cell)
        if gain_col:
            g = gains.get("balance"), gains.get("haproxy")
            cells.append(f"{g[0] / g[1]:.2f}" if g[0] is not None and g[1] else "-")
        L.append(f"| {label} | " + " | ".join(cells) + " |")
    for w, m in ((w1, m1), (w2, m2)):
        for note in m.get("notes", []):
            L.extend(["", f"Note ({w}-worker run): {note}"])
    text = "\n".join(L) + "\n"
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    sys.stdout.write(text)
    return 0


# --------------------------------------------------------------------------- main
def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def common(p, scenario, port_required=True):
        p.add_argument("--host", default="127.0.0.1")
        p.add_argument("--port", type=int, required=port_required)
        p.add_argument("--pid", type=int, default=0, help="root pid of the proxy (0 = direct)")
        p.add_argument("--proxy", default="direct")
        p.add_argument("--rep", type=int, default=1)
        p.add_argument("--raw", default="")
        p.add_argument("--scenario", default=scenario)
        p.add_argument("--duration", type=int, default=6)

    p = sub.add_parser("probe")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--count", type=int, default=4)
    p.add_argument("--timeout", type=float, default=10)
    p.set_defaults(fn=cmd_probe)

    p = sub.add_parser("bulk")
    common(p, "bulk")
    p.add_argument("--streams", type=int, default=1)
    p.set_defaults(fn=cmd_bulk)

    p = sub.add_parser("http")
    common(p, "http", port_required=False)
    p.add_argument("--conns", type=int, default=50)
    p.add_argument("--close", action="store_true", help="send Connection: close")
    p.add_argument("--warmup", type=int, default=0, help="seconds per target, not measured")
    p.add_argument("--target", action="append", default=[], metavar="NAME:PORT:PID",
                   help="take turns over these targets (replaces --proxy/--port/--pid)")
    p.add_argument("--slice", type=int, default=2, help="seconds per turn")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (at most --conns)")
    p.set_defaults(fn=cmd_http)

    p = sub.add_parser("latency")
    common(p, "latency_fixed", port_required=False)
    p.add_argument("--rate", type=float, default=2000)
    p.add_argument("--conns", type=int, default=10)
    p.add_argument("--warmup", type=float, default=1.0,
                   help="unmeasured seconds of the same load before the measured ones")
    p.add_argument("--target", action="append", default=[], metavar="NAME:PORT:PID",
                   help="interleave the load over these targets (replaces --proxy/--port/--pid)")
    p.add_argument("--window", type=float, default=0.5,
                   help="seconds per window of the window-p99 median")
    p.set_defaults(fn=cmd_latency)

    p = sub.add_parser("idle")
    common(p, "idle")
    p.add_argument("--n", type=int, default=9000)
    p.add_argument("--inflight", type=int, default=200)
    p.add_argument("--settle", type=float, default=1.5)
    p.add_argument("--timeout", type=float, default=120)
    p.add_argument("--backend-ports", default="")
    p.set_defaults(fn=cmd_idle)

    p = sub.add_parser("idle-worker")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--inflight", type=int, default=200)
    p.add_argument("--timeout", type=float, default=120)
    p.set_defaults(fn=cmd_idle_worker)

    p = sub.add_parser("treestat")
    p.add_argument("--pid", type=int, required=True)
    p.set_defaults(fn=cmd_treestat)

    p = sub.add_parser("established")
    p.add_argument("--ports", required=True)
    p.set_defaults(fn=cmd_established)

    p = sub.add_parser("report")
    p.add_argument("--raw", required=True)
    p.add_argument("--meta", default="")
    p.add_argument("--out", default="")
    p.set_defaults(fn=cmd_report)

    p = sub.add_parser("compare", help="two runs side by side (e.g. 1 and N workers)")
    p.add_argument("first", help="a run: its report X.md or X.raw.jsonl (meta from X.meta.json)")
    p.add_argument("second", help="the other run; the one with fewer workers goes first")
    p.add_argument("--out", default="")
    p.set_defaults(fn=cmd_compare)

    a = ap.parse_args(argv)
    return a.fn(a)


if __name__ == "__main__":
    sys.exit(main())
