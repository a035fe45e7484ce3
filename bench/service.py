"""Load test of the CDS order-sign service on loopback.

Starts ``clinguide serve`` in a subprocess on a free 127.0.0.1 port (unsigned local calls allowed),
drives order-sign calls with a typical prefetch (the shipped diazepam + active oxycodone example)
from a bounded httpx async client, and prints throughput, p50/p99 latency, errors and the server's
peak RSS (VmHWM from /proc). Targets on the 2-core machine: >= 500 req/s, p99 <= 100 ms, 0 errors,
RSS <= 250 MB.

    python bench/service.py [--concurrency 50] [--seconds 20] [--workers 1]
    python bench/service.py --in-process [--calls 2000]

``--in-process`` times the hook evaluation itself (``evaluate.run_hook``: FHIR mapping, the checks,
cards; no HTTP, no JSON) on the shipped example and on a combination-product variant.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "cds" / "order-sign-diazepam-with-oxycodone.json"
TARGETS = {"rps": 500.0, "p99_ms": 100.0, "errors": 0, "rss_mb": 250.0}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def peak_rss_mb(pid: int) -> float:
    """VmHWM of the process and its children (uvicorn workers), in MB."""
    total = 0.0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
        except FileNotFoundError:
            continue
    return total


async def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}")
            try:
                if (await client.get(f"{base}/healthz")).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("server did not start in time")


async def drive(base: str, body: bytes, concurrency: int, seconds: float) -> tuple[list[float], int, int]:
    latencies: list[float] = []
    errors = 0
    critical_missing = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    url = f"{base}/cds-services/clinguide-order-sign"
    headers = {"Content-Type": "application/json"}
    async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
        for _ in range(20):  # warm-up
            await client.post(url, content=body, headers=headers)
        end = time.monotonic() + seconds

        async def worker() -> None:
            nonlocal errors, critical_missing
            while time.monotonic() < end:
                start = time.perf_counter()
                try:
                    response = await client.post(url, content=body, headers=headers)
                except httpx.HTTPError:
                    errors += 1
                    continue
                latencies.append(time.perf_counter() - start)
                if response.status_code != 200:
                    errors += 1
                elif '"critical"' not in response.text:
                    critical_missing += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, errors, critical_missing


def in_process(calls: int) -> int:
    """Median and p99 of one order-sign evaluation in this process (the kb loaded once beforehand)."""
    import copy
    import datetime as dt

    from clinguide.kb import get_kb
    from clinguide.service.cds import evaluate

    kb, check = get_kb(), evaluate.load_check()
    now = dt.datetime(2023, 5, 1, tzinfo=dt.UTC)
    example = json.loads(EXAMPLE.read_text())
    combo = copy.deepcopy(example)  # the active opioid as code-only acetaminophen/oxycodone (Percocet 5/325)
    combo["prefetch"]["medications"]["entry"][0]["resource"]["medicationCodeableConcept"] = {
        "coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "1049640"}]}

    async def run(request: dict[str, object]) -> list[float]:
        times = []
        for _ in range(calls):
            start = time.perf_counter()
            result = await evaluate.run_hook("clinguide-order-sign", request, kb, check, now)
            times.append(time.perf_counter() - start)
            assert any(c["indicator"] == "critical" for c in result["cards"])
        return sorted(times)

    for label, request in (("shipped example (diazepam draft, active oxycodone)", example),
                           ("active opioid as a code-only combination product", combo)):
        times = asyncio.run(run(request))
        print(f"order-sign in-process, {label}: {calls} calls")
        print(f"  median {times[len(times) // 2] * 1000:.2f} ms, p99 {times[int(len(times) * 0.99)] * 1000:.2f} ms")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--in-process", action="store_true", help="time run_hook in this process, no HTTP")
    parser.add_argument("--calls", type=int, default=2000)
    args = parser.parse_args()
    if args.in_process:
        return in_process(args.calls)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "CLINGUIDE_CDS_ALLOW_UNSIGNED": "1"}
    cmd = [sys.executable, "-m", "clinguide.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(args.workers), "--log-level", "warning"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT)
    try:
        asyncio.run(wait_ready(base, proc))
        body = json.dumps(json.loads(EXAMPLE.read_text())).encode()
        started = time.perf_counter()
        latencies, errors, missing = asyncio.run(drive(base, body, args.concurrency, args.seconds))
        elapsed = time.perf_counter() - started
        rss = peak_rss_mb(proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    latencies.sort()
    n = len(latencies)
    rps = n / elapsed if elapsed else 0.0
    p50 = latencies[n // 2] * 1000 if n else float("nan")
    p99 = latencies[min(n - 1, int(n * 0.99))] * 1000 if n else float("nan")
    print(f"order-sign on loopback: {args.concurrency} concurrent for {args.seconds:g} s, {args.workers} worker(s)")
    print(f"  requests   {n}  ({rps:.0f} req/s; target >= {TARGETS['rps']:.0f})")
    print(f"  latency    p50 {p50:.1f} ms, p99 {p99:.1f} ms (target p99 <= {TARGETS['p99_ms']:.0f} ms)")
    print(f"  errors     {errors} (non-200 or transport); responses without the critical card: {missing}")
    print(f"  peak RSS   {rss:.0f} MB (server, VmHWM; target <= {TARGETS['rss_mb']:.0f} MB)")
    met = rps >= TARGETS["rps"] and p99 <= TARGETS["p99_ms"] and errors == 0 and missing == 0 and (
        rss <= TARGETS["rss_mb"])
    print(f"  targets    {'met' if met else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
