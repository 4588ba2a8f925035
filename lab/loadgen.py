#!/usr/bin/python3
"""A bounded load generator, run ON the client node (Python's standard library only).

    python3 loadgen.py --url http://192.168.0.105/ --rate 20 --duration 40 --out /run/lab-load.json

Starts one request every 1/rate seconds for `duration` seconds (or until the --stop file appears), each on a new TCP connection
(as a new browser would) in its own thread, so a hanging request does not hold the next one
back; each gives up after --timeout. Then it stops by itself and writes one JSON list: each
request's start (the node's wall clock), outcome, latency and the real server that answered
(its page names it in <h1>, lab/provision/ch0-apache.sh). The file appears complete or not at all;
OUT.started appears when the first request goes out.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import threading
import time
from urllib.parse import urlsplit


def one_request(host: str, port: int, path: str, timeout: float) -> dict:
    started = time.time()
    t0 = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout) as conn:
            conn.settimeout(max(0.01, timeout - (time.monotonic() - t0)))
            conn.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                data += chunk
        text = data.decode(errors="replace")
        status = int(text.split(" ", 2)[1]) if text.startswith("HTTP/") else None
        start = text.find("<h1>")
        server = text[start + 4: text.find("</h1>", start)] if start >= 0 else None
        ok = status == 200
        error = "" if ok else f"HTTP {status}" if status else "no HTTP answer"
    except OSError as exc:
        ok, server, error = False, None, f"{type(exc).__name__}: {exc}"
    return {"start": started, "ok": ok, "latency": time.monotonic() - t0, "server": server, "error": error}


def run(url: str, rate: float, duration: float, timeout: float, started: str = "", stop: str = "") -> list[dict]:
    parts = urlsplit(url)
    host, port, path = parts.hostname or "", parts.port or 80, parts.path or "/"
    results: list[dict] = []
    lock = threading.Lock()

    def worker() -> None:
        record = one_request(host, port, path, timeout)
        with lock:
            results.append(record)

    threads = []
    begin = time.monotonic()
    if started:  # the harness waits for this before it counts on the load running
        open(started, "w").close()
    for i in range(int(rate * duration)):
        delay = begin + i / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        if stop and i % int(max(1, rate)) == 0 and os.path.exists(stop):  # asked to end early
            break
        thread = threading.Thread(target=worker, daemon=True)
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join(timeout + 5)
    with lock:
        return sorted(results, key=lambda r: r["start"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second")
    parser.add_argument("--duration", type=float, required=True, help="seconds; then it stops by itself")
    parser.add_argument("--timeout", type=float, default=2.0, help="a request's time limit (s)")
    parser.add_argument("--out", required=True)
    parser.add_argument("--stop", default="", help="end early once this file exists (checked each second)")
    args = parser.parse_args()
    results = run(args.url, args.rate, args.duration, args.timeout, started=args.out + ".started", stop=args.stop)
    partial = args.out + ".partial"
    with open(partial, "w") as out:
        json.dump(results, out)
    os.replace(partial, args.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
