#!/usr/bin/env python3
"""N clients scraping a URL in a loop (keep-alive, reconnecting after any error) for a bounded
time; prints one JSON line: responses by status, errors. Used by bench/scrape.sh."""
import argparse
import http.client
import json
import threading
import time


def scrape(host, port, path, until, counts, lock):
    conn = None
    while time.monotonic() < until:
        try:
            if conn is None:
                conn = http.client.HTTPConnection(host, port, timeout=5)
            conn.request("GET", path)
            r = conn.getresponse()
            r.read()
            with lock:
                counts[str(r.status)] = counts.get(str(r.status), 0) + 1
        except (OSError, http.client.HTTPException):
            with lock:
                counts["error"] = counts.get("error", 0) + 1
            if conn is not None:
                conn.close()
            conn = None
            time.sleep(0.01)
    if conn is not None:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--path", default="/metrics")
    p.add_argument("--clients", type=int, default=50)
    p.add_argument("--seconds", type=float, required=True)
    a = p.parse_args()
    until = time.monotonic() + min(a.seconds, 600)
    counts, lock = {}, threading.Lock()
    threads = [threading.Thread(target=scrape, args=(a.host, a.port, a.path, until, counts, lock), daemon=True)
               for _ in range(a.clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=max(0.0, until - time.monotonic()) + 10)
    print(json.dumps({"clients": a.clients, "seconds": a.seconds, "responses": counts}))


if __name__ == "__main__":
    main()
