#!/usr/bin/env python3
"""Closed-loop HTTP load for bench/queue.sh: C client threads, each with one keep-alive
connection, send N requests in all to POST /v1/execute and record each latency.

    queue_load.py ADDR N C CODE      -> one JSON line: {"jobs", "seconds", "jobs_per_s", "p50_ms", "p99_ms", "errors"}
"""
import http.client
import json
import sys
import threading
import time


def main():
    addr, total, clients, code = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    host, port = addr.rsplit(":", 1)
    body = json.dumps({"code": code, "timeout_ms": 1000})
    latencies, errors, lock = [], [0], threading.Lock()
    per = [total // clients + (1 if i < total % clients else 0) for i in range(clients)]

    def client(n):
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        mine, bad = [], 0
        for _ in range(n):
            t = time.perf_counter()
            conn.request("POST", "/v1/execute", body, {"Content-Type": "application/json"})
            r = conn.getresponse()
            data = r.read()
            mine.append(time.perf_counter() - t)
            if r.status != 200 or json.loads(data).get("status") != "ok":
                bad += 1
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    start = time.perf_counter()
    threads = [threading.Thread(target=client, args=(n,)) for n in per]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - start
    latencies.sort()
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print(json.dumps({
        "jobs": total, "seconds": round(seconds, 3), "jobs_per_s": round(total / seconds, 1),
        "p50_ms": round(pick(0.50), 2), "p99_ms": round(pick(0.99), 2), "errors": errors[0],
    }))


if __name__ == "__main__":
    main()
