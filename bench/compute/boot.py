#!/usr/bin/python3
"""bench/compute/boot.py — boots servers through the Nova API and times them.

Usage: boot.py BASE TOKEN IMAGE FLAVOR COUNT CONCURRENCY
  BASE is the compute endpoint (http://127.0.0.1:PORT/compute/v2.1). Each of CONCURRENCY threads
  loops: POST /servers (networks "none"), then GET /servers/ID every 10 ms until the status is
  ACTIVE or ERROR; the time from sending the POST to seeing ACTIVE is one sample. Prints one line
  BENCH_RESULT booted=N errors=N seconds=S boots_per_s=R p50_ms=.. p99_ms=.. max_ms=..
Standard library only (Debian's python3).
"""
import http.client
import json
import sys
import threading
import time
import urllib.parse


def main():
    base, token, image, flavor = sys.argv[1:5]
    count, conc = int(sys.argv[5]), int(sys.argv[6])
    u = urllib.parse.urlsplit(base)
    headers = {"X-Auth-Token": token, "Content-Type": "application/json",
               "OpenStack-API-Version": "compute 2.37"}
    lock = threading.Lock()
    state = {"next": 0, "samples": [], "errors": 0, "msgs": []}

    def take():
        with lock:
            if state["next"] >= count:
                return None
            state["next"] += 1
            return state["next"]

    def worker():
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=120)
        while True:
            n = take()
            if n is None:
                return
            body = json.dumps({"server": {"name": "bench-%d" % n, "imageRef": image,
                                          "flavorRef": flavor, "networks": "none"}})
            t0 = time.monotonic()
            conn.request("POST", u.path + "/servers", body, headers)
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 202:
                with lock:
                    state["errors"] += 1
                    state["msgs"].append("POST %d: %s" % (resp.status, data[:200]))
                continue
            sid = json.loads(data)["server"]["id"]
            status = None
            while status not in ("ACTIVE", "ERROR"):
                time.sleep(0.01)
                conn.request("GET", u.path + "/servers/" + sid, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
                if resp.status != 200:
                    status = "ERROR"
                    break
                status = json.loads(data)["server"]["status"]
            t1 = time.monotonic()
            with lock:
                if status == "ACTIVE":
                    state["samples"].append(t1 - t0)
                else:
                    state["errors"] += 1
                    state["msgs"].append("server %s: %s" % (sid, data[:300]))

    t0 = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(conc)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    secs = time.monotonic() - t0
    s = sorted(state["samples"])

    def pct(p):
        return s[min(len(s) - 1, int(p * len(s)))] * 1000 if s else 0

    for m in state["msgs"][:5]:
        print("error:", m, file=sys.stderr)
    print("BENCH_RESULT booted=%d errors=%d seconds=%.2f boots_per_s=%.1f p50_ms=%.0f p99_ms=%.0f max_ms=%.0f"
          % (len(s), state["errors"], secs, len(s) / secs if secs else 0, pct(0.5), pct(0.99),
             s[-1] * 1000 if s else 0))
    return 0 if state["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
