"""A stand-in for ``flyte._bin.worker`` that speaks the executor protocol over HTTP.

It claims actions and reports, per task name: ``*.add`` -> ``o0 = x + y``; ``*.fail`` -> a
failure; ``*.sleep`` -> waits (heartbeating) until aborted; anything else -> echoes its inputs.
"""

from __future__ import annotations

import argparse
import base64
import os
import sys
import threading
import time

import httpx
import msgpack


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--api-key", default=os.environ.get("FLYTE_API_KEY"))
    parser.add_argument("--worker-id", required=True)
    args = parser.parse_args()
    client = httpx.Client(
        base_url=args.endpoint, headers={"Authorization": f"Bearer {args.api_key}"}, timeout=60
    )
    running: dict[tuple[str, str], int] = {}
    aborted: set[tuple[str, str]] = set()
    lock = threading.Lock()

    def beat() -> None:
        while True:
            time.sleep(0.2)
            with lock:
                actions = [[run, name, attempt] for (run, name), attempt in running.items()]
            try:
                r = client.post(
                    "/api/v1/executor/heartbeat", json={"worker_id": args.worker_id, "actions": actions}
                )
                with lock:
                    aborted.update(tuple(x) for x in r.json()["abort"])
            except httpx.HTTPError:
                pass

    threading.Thread(target=beat, daemon=True).start()
    print(f"fake worker {args.worker_id} up", flush=True)
    while True:
        try:
            r = client.post(
                "/api/v1/executor/claim", json={"worker_id": args.worker_id, "max": 1, "timeout": 5}
            )
        except httpx.HTTPError:
            time.sleep(0.2)
            continue
        if r.status_code == 401:
            sys.exit(3)
        for a in r.json():
            key = (a["run"], a["action"])
            with lock:
                running[key] = a["attempt"]
            report = {
                "worker_id": args.worker_id,
                "run": a["run"],
                "action": a["action"],
                "attempt": a["attempt"],
            }
            raw = base64.b64decode(a["inputs_b64"])
            inputs = msgpack.unpackb(raw) if raw else {}
            name = a["task"]["name"]
            if name.endswith(".sleep"):
                while True:
                    with lock:
                        if key in aborted:
                            break
                    time.sleep(0.05)
                with lock:
                    running.pop(key, None)
                continue
            if name.endswith(".fail"):
                report.update(phase="failed", error_type="ValueError", error_message="boom", retryable=True)
            else:
                outputs = {"o0": inputs["x"] + inputs["y"]} if name.endswith(".add") else inputs
                report.update(
                    phase="succeeded", outputs_b64=base64.b64encode(msgpack.packb(outputs)).decode()
                )
            client.post("/api/v1/executor/report", json=report)
            with lock:
                running.pop(key, None)


if __name__ == "__main__":
    main()
