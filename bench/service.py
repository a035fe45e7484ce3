"""Load test of the HTTP service on loopback, each endpoint against the discovery endpoint as the floor.

Starts ``clinguide serve`` (2 workers by default) on a free 127.0.0.1 port, unsigned local CDS calls
allowed — twice by default: as deployed (the per-worker result memo on) and with
``CLINGUIDE_RESULT_CACHE_SIZE=0`` (every request evaluated; ``--memo on|off|both``, ``--no-memo``) —
checks each endpoint a few times (status 200, the expected content, card ids never repeated across hook
calls), then drives, one after the other for a bounded time each, with the same number of connections:

* GET  /cds-services                          the discovery endpoint: the framework's floor here
* POST /cds-services/clinguide-order-sign     docs/examples/cds/order-sign-diazepam-with-oxycodone.json,
                                              with a new hookInstance (a random UUID) on every call
* POST /api/check                             a diazepam order for a 72-year-old taking oxycodone
* POST /api/ask                               "Should I take diazepam for back spasm?"

and prints for each: requests/s, the fraction of the floor's requests/s measured in the same run,
p50/p99 latency and errors (transport errors and non-2xx answers). The load comes from ``wrk`` when it
is installed (POST bodies through a small Lua script written to a temporary file), else from an httpx
async client (slower: its own cost caps the figures, so compare fractions, not requests/s).
Targets (2-core machine, 32 connections): each endpoint >= 0.5 of the floor, p99 <= 100 ms, 0 errors.

    python bench/service.py [--connections 32] [--seconds 10] [--workers 2] [--client auto|wrk|python]
                            [--memo both|on|off | --no-memo]
    python bench/service.py --in-process [--calls 2000]
    python bench/service.py --responses FILE   # answers to ~50 varied requests, to compare before/after a change

Each endpoint's time is split into ``--rounds`` interleaved rounds (req/s over all of them, the median
p50, the worst p99), so that a change in the shared machine's load falls on the floor and the endpoints alike;
each server's rows are fractions of its own floor.

``--in-process`` times the hook evaluation itself (``evaluate.run_hook``: FHIR mapping, the checks,
cards; no HTTP, no JSON) on the shipped example and on a combination-product variant, then each endpoint
through the whole ASGI app (no socket) with the result memo on and off.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "examples" / "cds" / "order-sign-diazepam-with-oxycodone.json"
TARGET_FRACTION, MOONSHOT_FRACTION, TARGET_P99_MS = 0.5, 0.8, 100.0


# stands for the hook call's id in the order-sign body: each request sends a new one (a real EHR does)
HOOK_INSTANCE = "@HOOK_INSTANCE@"


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    body: bytes | None
    expect: str  # a piece of text the answer must hold (checked once before the load)

    def request_body(self) -> bytes | None:
        """The body of one request: a fresh hookInstance (a random UUID) where the body has its placeholder."""
        if self.body is None or HOOK_INSTANCE.encode() not in self.body:
            return self.body
        return self.body.replace(HOOK_INSTANCE.encode(), str(uuid.uuid4()).encode())


def endpoints() -> list[Endpoint]:
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    example["hookInstance"] = HOOK_INSTANCE
    order_sign = json.dumps(example).encode()
    check = json.dumps({"order": {"sig": "diazepam 10 mg PO QID x 28 days"},
                        "case": {"age": 72, "medications": ["oxycodone"]}}).encode()
    ask = json.dumps({"question": "Should I take diazepam for back spasm?"}).encode()
    return [
        Endpoint("discovery (floor)", "GET", "/cds-services", None, '"services"'),
        Endpoint("order-sign", "POST", "/cds-services/clinguide-order-sign", order_sign, '"critical"'),
        Endpoint("api/check", "POST", "/api/check", check, '"verdict"'),
        Endpoint("api/ask", "POST", "/api/ask", ask, '"references"'),
    ]


@dataclass
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def combine(parts: list[Result]) -> Result:
    """Rounds of one endpoint: all requests over all the time; the median p50 and the worst p99."""
    p50s = sorted(r.p50_ms for r in parts)
    return Result(sum(r.requests for r in parts), sum(r.seconds for r in parts), p50s[len(p50s) // 2],
                  max(r.p99_ms for r in parts), sum(r.errors for r in parts))


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


def wait_ready(base: str, proc: subprocess.Popen[bytes], timeout: float = 90, started: float | None = None) -> float:
    """Seconds until /healthz answers (since ``started``, a ``time.monotonic()``; default: now)."""
    started = time.monotonic() if started is None else started
    with httpx.Client() as client:
        while time.monotonic() - started < timeout:
            if proc.poll() is not None:
                raise SystemExit(f"server exited with {proc.returncode}")
            try:
                if client.get(f"{base}/healthz").status_code == 200:
                    return time.monotonic() - started
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise SystemExit("server did not start in time")


def card_ids(answer: dict[str, object]) -> list[str]:
    cards = answer.get("cards")
    assert isinstance(cards, list)
    return [str(c["uuid"]) for c in cards] + [str(s["uuid"]) for c in cards for s in c.get("suggestions", [])]


def first_calls(base: str, items: list[Endpoint], rounds: int = 4) -> list[tuple[str, list[float]]]:
    """Each endpoint called a few times on fresh connections (so both workers are likely hit): the first
    request on a worker shows whether its caches were built at start-up. Fails on a wrong answer, and on
    card ids repeated across hook calls (each call has its own hookInstance)."""
    out = []
    for ep in items:
        times = []
        answers = []
        for _ in range(rounds):
            with httpx.Client(timeout=30) as client:
                start = time.perf_counter()
                response = client.request(ep.method, base + ep.path, content=ep.request_body(),
                                          headers={"Content-Type": "application/json"} if ep.body else None)
                times.append((time.perf_counter() - start) * 1000)
            if response.status_code != 200 or ep.expect not in response.text:
                raise SystemExit(f"{ep.name}: unexpected answer {response.status_code}: {response.text[:300]}")
            answers.append(response.json())
        if ep.body is not None and HOOK_INSTANCE.encode() in ep.body:
            ids = [card_ids(a) for a in answers]
            if len({i for each in ids for i in each}) != sum(len(each) for each in ids):
                raise SystemExit(f"{ep.name}: card ids repeat across hook calls")
            if any(len(each) != len(ids[0]) for each in ids):
                raise SystemExit(f"{ep.name}: the same input gave different numbers of cards")
        out.append((ep.name, times))
    return out


WRK_SCRIPT = """
wrk.method = os.getenv("BENCH_METHOD")
local body_file = os.getenv("BENCH_BODY")
local marker = os.getenv("BENCH_MARKER")
local head, tail = nil, nil
if body_file and body_file ~= "" then
  local f = io.open(body_file, "rb")
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
  local at = marker and marker ~= "" and string.find(wrk.body, marker, 1, true)
  if at then
    head, tail = string.sub(wrk.body, 1, at - 1), string.sub(wrk.body, at + #marker)
  end
end

-- each hook call its own hookInstance, uuid-like: a random per-thread prefix and a per-thread counter.
-- The request is formatted once with a stand-in of the same length (so Content-Length holds) and cut
-- around it: a call then costs wrk one concatenation, not a wrk.format, so the load generator (on the
-- same 2 cores as the server) spends about what it spends on a fixed body.
local counter = 0
local prefix, before, after = nil, nil, nil
function init(args)
  local f = io.open("/dev/urandom", "rb")
  local b = f:read(4)
  f:close()
  math.randomseed(b:byte(1) + b:byte(2) * 256 + b:byte(3) * 65536 + b:byte(4) * 16777216)
  prefix = string.format("%08x-%04x-4%03x-%04x-", math.random(0, 0x7fffffff), math.random(0, 0xffff),
    math.random(0, 0xfff), math.random(0x8000, 0xbfff))
  if head then
    local stand_in = prefix .. "000000000000"
    local whole = wrk.format(nil, nil, nil, head .. stand_in .. tail)
    local at = string.find(whole, stand_in, 1, true)
    before, after = string.sub(whole, 1, at - 1), string.sub(whole, at + #stand_in)
  end
end

if head then
  request = function()
    counter = counter + 1
    return before .. prefix .. string.sub("00000000000" .. counter, -12) .. after
  end
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH {\\"requests\\": %d, \\"duration_us\\": %d, \\"p50_us\\": %d, \\"p99_us\\": %d, " ..
    "\\"connect\\": %d, \\"read\\": %d, \\"write\\": %d, \\"status\\": %d, \\"timeout\\": %d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
"""


def run_wrk(base: str, ep: Endpoint, connections: int, seconds: float, threads: int) -> Result:
    with tempfile.TemporaryDirectory(prefix="clinguide-bench-") as tmp:
        script = Path(tmp) / "request.lua"
        script.write_text(WRK_SCRIPT, encoding="utf-8")
        env = {**os.environ, "BENCH_METHOD": ep.method, "BENCH_BODY": "", "BENCH_MARKER": HOOK_INSTANCE}
        if ep.body is not None:
            body = Path(tmp) / "body.json"
            body.write_bytes(ep.body)
            env["BENCH_BODY"] = str(body)
        cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds:g}s", "--timeout", "10s",
               "-s", str(script), base + ep.path]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith("BENCH ")), None)
    if out.returncode != 0 or line is None:
        raise SystemExit(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    data = json.loads(line[len("BENCH "):])
    # wrk counts non-2xx/3xx answers apart from its socket errors; both are errors here
    non_2xx = 0
    for ln in out.stdout.splitlines():
        if "Non-2xx or 3xx responses:" in ln:
            non_2xx = int(ln.rsplit(":", 1)[1])
    errors = data["connect"] + data["read"] + data["write"] + data["timeout"] + max(non_2xx, data["status"])
    return Result(data["requests"], data["duration_us"] / 1e6, data["p50_us"] / 1000, data["p99_us"] / 1000, errors)


def run_python(base: str, ep: Endpoint, connections: int, seconds: float) -> Result:
    async def drive() -> Result:
        latencies: list[float] = []
        errors = 0
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        headers = {"Content-Type": "application/json"} if ep.body else None
        async with httpx.AsyncClient(limits=limits, timeout=10.0) as client:
            end = time.monotonic() + seconds
            started = time.perf_counter()

            async def worker() -> None:
                nonlocal errors
                while time.monotonic() < end:
                    start = time.perf_counter()
                    try:
                        response = await client.request(ep.method, base + ep.path, content=ep.request_body(),
                                                        headers=headers)
                    except httpx.HTTPError:
                        errors += 1
                        continue
                    latencies.append(time.perf_counter() - start)
                    if not 200 <= response.status_code < 300:
                        errors += 1

            await asyncio.gather(*(worker() for _ in range(connections)))
            elapsed = time.perf_counter() - started
        latencies.sort()
        n = len(latencies)
        p50 = latencies[n // 2] * 1000 if n else float("nan")
        p99 = latencies[min(n - 1, int(n * 0.99))] * 1000 if n else float("nan")
        return Result(n, elapsed, p50, p99, errors)

    return asyncio.run(drive())


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
    asgi_path(calls)
    return 0


def asgi_path(calls: int) -> None:
    """Each endpoint through the whole ASGI app (middleware, routing, validation, JSON; no socket), with the
    result memo on and off: the per-request cost beside the floor's, without uvicorn and the load generator."""
    from clinguide.service.app import create_app

    os.environ["CLINGUIDE_CDS_ALLOW_UNSIGNED"] = "1"

    async def one(app: Any, ep: Endpoint, body: bytes) -> None:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        status: list[int] = []

        async def send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status.append(message["status"])

        headers = [(b"host", b"bench"), (b"content-type", b"application/json"),
                   (b"content-length", str(len(body)).encode())]
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": ep.method,
                 "scheme": "http", "path": ep.path, "raw_path": ep.path.encode(), "query_string": b"",
                 "root_path": "", "headers": headers, "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80),
                 "state": {}}
        await app(scope, receive, send)
        if status != [200]:
            raise SystemExit(f"{ep.name}: status {status}")

    async def measure(memo: bool) -> list[tuple[str, float]]:
        if memo:
            os.environ.pop("CLINGUIDE_RESULT_CACHE_SIZE", None)
        else:
            os.environ["CLINGUIDE_RESULT_CACHE_SIZE"] = "0"
        app = create_app()
        out = []
        async with app.router.lifespan_context(app):
            for ep in endpoints():
                n = calls if memo or ep.name != "api/ask" else max(1, calls // 20)
                for _ in range(min(n, 100)):
                    await one(app, ep, ep.request_body() or b"")
                times = []
                for _ in range(n):
                    body = ep.request_body() or b""
                    start = time.perf_counter()
                    await one(app, ep, body)
                    times.append(time.perf_counter() - start)
                times.sort()
                out.append((ep.name, times[len(times) // 2] * 1e6))
        return out

    print(f"whole request through the ASGI app in this process (median µs of {calls} calls; "
          "order-sign with a new hookInstance each call):")
    for memo in (True, False):
        rows = asyncio.run(measure(memo))
        floor = rows[0][1]
        print(f"  result memo {'on ' if memo else 'off'}: " + "; ".join(
            f"{name} {us:.0f} µs ({floor / us:.2f} of floor)" for name, us in rows))


def varied_requests() -> list[tuple[str, str, Any]]:
    """~50 requests of every kind (the shipped CDS examples and variants of them, built hook calls, /api
    bodies, bad requests): (method, path, body: JSON data, raw bytes or None)."""
    import copy

    rx = "http://www.nlm.nih.gov/research/umls/rxnorm"

    def med(rid: str, text: str, status: str = "draft", code: str | None = None, dose: float | None = None,
            per_day: int | None = None, days: int | None = None) -> dict[str, Any]:
        concept: dict[str, Any] = {"text": text}
        if code:
            concept["coding"] = [{"system": rx, "code": code, "display": text}]
        dosage: dict[str, Any] = {"asNeededBoolean": False}
        if dose is not None:
            dosage["doseAndRate"] = [{"doseQuantity": {"value": dose, "unit": "mg", "code": "mg",
                                                       "system": "http://unitsofmeasure.org"}}]
        if per_day is not None:
            dosage["timing"] = {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}}
        out: dict[str, Any] = {"resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order",
                               "medicationCodeableConcept": concept, "subject": {"reference": "Patient/p1"},
                               "dosageInstruction": [dosage]}
        if days is not None:
            out["dispenseRequest"] = {"expectedSupplyDuration": {"value": days, "unit": "days", "code": "d",
                                                                 "system": "http://unitsofmeasure.org"}}
        return out

    def bundle(*resources: dict[str, Any]) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in resources]}

    def hook(name: str, drafts: list[dict[str, Any]], prefetch: dict[str, Any]) -> dict[str, Any]:
        context: dict[str, Any] = {"userId": "Practitioner/1", "patientId": "p1"}
        if name != "patient-view":
            context["draftOrders"] = bundle(*drafts)
        return {"hook": name, "hookInstance": "abc", "context": context, "prefetch": prefetch}

    sign, select, view = (f"/cds-services/clinguide-{n}" for n in ("order-sign", "order-select", "patient-view"))
    out: list[tuple[str, str, Any]] = [("GET", "/cds-services", None)]
    for i, path in enumerate(sorted(EXAMPLE.parent.glob("*.json"))):
        body = json.loads(path.read_text(encoding="utf-8"))
        out.append(("POST", sign, body))
        out.append(("POST", sign, {**copy.deepcopy(body), "hookInstance": f"hi-{i}", "extra<&>": {"x": "é<"}}))
        selected = copy.deepcopy(body)
        selected["hook"], selected["context"]["selections"] = "order-select", ["MedicationRequest/x"]
        out.append(("POST", select, selected))
        viewed = copy.deepcopy(body)
        viewed["hook"] = "patient-view"
        viewed["context"].pop("draftOrders", None)
        out.append(("POST", view, viewed))
    opioid = {"patient": {"resourceType": "Patient", "id": "p1", "birthDate": "1950-01-01", "gender": "female"},
              "medications": bundle(med("m1", "oxycodone 5 mg", "active", "1049621", 5, 4))}
    out += [
        ("POST", sign, hook("order-sign", [med("d1", "diazepam", code="3322", dose=10, per_day=4, days=28)], opioid)),
        ("POST", sign, hook("order-sign", [med("d1", "cyclobenzaprine", dose=10, per_day=3, days=5)], opioid)),
        ("POST", sign, hook("order-sign", [med("d1", "frobnicate")], opioid)),
        ("POST", sign, hook("order-sign", [med("d1", "diazepam", dose=5000, per_day=4)], {})),
        ("POST", sign, hook("order-sign", [med("d1", "diazepam", dose=0.00001, per_day=4)], {})),
        ("POST", view, hook("patient-view", [], opioid)),
        ("POST", sign, hook("order-sign", [med("d1", "diazepam", status="bogus")], opioid)),
        ("POST", sign, hook("order-sign", [med("d1", "diazepam")], {"patient": {"resourceType": "Patient",
                                                                                "birthDate": 12}})),
        ("POST", sign, {"hook": "order-sign"}),
        ("POST", "/cds-services/nope", hook("order-sign", [], opioid)),
        ("POST", sign, b"{"),
    ]
    for body in [
        {"order": {"sig": "diazepam 10 mg PO QID x 28 days"}, "case": {"age": 72, "medications": ["oxycodone"]}},
        {"order": {"sig": "diazepam 5 mg PO TID x 30 days"}, "case": {"age": 70}},
        {"order": {"drug": "diazepam", "dose": "5 mg", "frequency": "TID"}},
        {"order": {"sig": "cyclobenzaprine 10 mg PO TID x 7 days"}},
        {"order": {"sig": "methocarbamol 1500 mg QID"}, "case": {"age": 40, "conditions": ["spinal fusion"]}},
        {"order": {"sig": "baclofen 5 mg TID"}, "case": {"age": 80, "medications": ["gabapentin", "oxycodone"]}},
        {"order": {"sig": "carisoprodol 350 mg QID x 21 days"}, "case": {"age": 30}},
        {"order": {"sig": "tizanidine 4 mg q6h"},
         "case": {"age": 66, "sex": "female", "medications": ["ciprofloxacin"]}},
        {"order": {"sig": "diazepam 0.00001 mg daily"}},
        {"order": {"sig": "diazepam <b>&"}},
        {"order": {"sig": "frobnicate 5 mg"}},
        {"order": {"sig": "diazepam 10 mg"}, "case": {"age": -3}},
        {"order": {"sig": "diazepam 10 mg"}, "extra": 1},
        {"order": {}},
        {"case": {"age": 40}},
        b"{",
        b"[]",
    ]:
        out.append(("POST", "/api/check", body))
    for case in [{"age": 70, "medications": ["oxycodone"]}, {"age": 40}, {"age": 85, "allergies": ["diazepam"]},
                 {"age": 55, "conditions": ["spinal fusion"], "medications": ["gabapentin"]}, {"age": -1}]:
        out.append(("POST", "/api/assess", {"case": case}))
    out.append(("POST", "/api/ask", {"question": "Should I take diazepam for back spasm?"}))
    out.append(("GET", "/openapi.json", None))
    return out


def responses(path: Path) -> int:
    """Write status, headers and body of :func:`varied_requests` (memo off, a fixed date) to ``path``: run it
    before and after a change and compare the files byte for byte (the answers must not change)."""
    import datetime as dt

    from fastapi.testclient import TestClient

    from clinguide.service.app import create_app

    os.environ["CLINGUIDE_CDS_ALLOW_UNSIGNED"] = "1"
    os.environ["CLINGUIDE_RESULT_CACHE_SIZE"] = "0"
    out = []
    app = create_app(now=dt.datetime(2023, 5, 1, 12, tzinfo=dt.UTC))
    with TestClient(app, raise_server_exceptions=False) as client:
        for method, url, body in varied_requests():
            if body is None:
                r = client.request(method, url)
            elif isinstance(body, bytes):
                r = client.request(method, url, content=body, headers={"content-type": "application/json"})
            else:
                r = client.request(method, url, json=body)
            out.append({"request": [method, url], "status": r.status_code,
                        "headers": sorted(r.headers.items()), "body": r.content.decode("utf-8")})
    path.write_text(json.dumps(out, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    counts = {s: sum(1 for o in out if o["status"] == s) for s in sorted({o["status"] for o in out})}
    print(f"{len(out)} responses written to {path}; by status: {counts}")
    return 0


def start_server(workers: int, memo: bool) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = {**os.environ, "CLINGUIDE_CDS_ALLOW_UNSIGNED": "1"}
    if not memo:
        env["CLINGUIDE_RESULT_CACHE_SIZE"] = "0"
    cmd = [sys.executable, "-m", "clinguide.cli", "serve", "--host", "127.0.0.1", "--port", str(port),
           "--workers", str(workers), "--log-level", "warning"]
    return subprocess.Popen(cmd, env=env, cwd=ROOT), f"http://127.0.0.1:{port}"


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", "--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=10.0, help="load per endpoint (and per server)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--client", choices=("auto", "wrk", "python"), default="auto")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=2, help="interleaved rounds sharing --seconds")
    parser.add_argument("--only", help="comma-separated endpoint names to load after the floor (e.g. api/ask)")
    parser.add_argument("--memo", choices=("both", "on", "off"), default="both",
                        help="the server with its result memo (on), one with CLINGUIDE_RESULT_CACHE_SIZE=0 (off), "
                             "or both (default: each measured against its own floor, rounds interleaved)")
    parser.add_argument("--no-memo", action="store_const", const="off", dest="memo", help="the same as --memo off")
    parser.add_argument("--in-process", action="store_true", help="time run_hook in this process, no HTTP")
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--responses", type=Path, metavar="FILE",
                        help="write the answers to ~50 varied requests (memo off) to FILE, to compare before/after")
    args = parser.parse_args()
    if args.responses:
        return responses(args.responses)
    if args.in_process:
        return in_process(args.calls)
    wrk = shutil.which("wrk")
    if args.client == "wrk" and not wrk:
        raise SystemExit("--client wrk: wrk is not installed (Debian: apt-get install wrk)")
    use_wrk = bool(wrk) and args.client != "python"
    items = endpoints()
    if args.only:
        wanted = {w.strip() for w in args.only.split(",")}
        items = [items[0], *(ep for ep in items[1:] if ep.name in wanted)]
    modes = {"both": (True, False), "on": (True,), "off": (False,)}[args.memo]
    servers: dict[bool, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        started = time.monotonic()  # the servers start together
        for memo in modes:
            servers[memo] = start_server(args.workers, memo)
        ready = {memo: wait_ready(base, proc, started=started) for memo, (proc, base) in servers.items()}
        firsts = {memo: first_calls(base, items) for memo, (_, base) in servers.items()}
        # rounds interleave the endpoints and the servers (floor, a, b, c on one, then on the other, again …)
        # so that a change in the machine's load (it is shared) falls on every row alike
        rounds: dict[tuple[bool, str], list[Result]] = {(m, ep.name): [] for m in modes for ep in items}
        share = args.seconds / args.rounds
        for _ in range(args.rounds):
            for memo in modes:
                base = servers[memo][1]
                for ep in items:
                    if use_wrk:
                        rounds[(memo, ep.name)].append(run_wrk(base, ep, args.connections, share, args.threads))
                    else:
                        rounds[(memo, ep.name)].append(run_python(base, ep, args.connections, share))
        rss = {memo: peak_rss_mb(proc.pid) for memo, (proc, _) in servers.items()}
    finally:
        for proc, _ in servers.values():
            stop(proc)
    client = "wrk" if use_wrk else "httpx (Python; wrk not used)"
    print(f"service on loopback: {args.workers} worker(s), {args.connections} connections, "
          f"{args.seconds:g} s per endpoint and server in {args.rounds} interleaved round(s), load from {client}; "
          f"order-sign sends a new hookInstance on every call; load average {os.getloadavg()[0]:.2f} at the end")
    met = moon = True
    for memo in modes:
        label = ("result memo on (default, CLINGUIDE_RESULT_CACHE_SIZE unset)" if memo
                 else "result memo off (CLINGUIDE_RESULT_CACHE_SIZE=0: every request evaluated)")
        print(f"\n[{label}] ready after {ready[memo]:.1f} s; server peak RSS {rss[memo]:.0f} MB (VmHWM, all processes)")
        print("first calls (fresh connection each; ms): " + "; ".join(
            f"{name} {', '.join(f'{t:.0f}' for t in times)}" for name, times in firsts[memo]))
        results = [(ep, combine(rounds[(memo, ep.name)])) for ep in items]
        floor = results[0][1].rps
        tag = "memo" if memo else "no memo"
        print(f"{'endpoint':<30}{'req/s':>9}{'of floor':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}")
        for i, (ep, r) in enumerate(results):
            fraction = r.rps / floor if floor else 0.0
            name = f"{ep.name} [{tag}]"
            print(f"{name:<30}{r.rps:>9.0f}{fraction:>10.2f}{r.p50_ms:>9.1f}{r.p99_ms:>9.1f}{r.errors:>8}")
            if i and memo == modes[0]:
                ok = fraction >= TARGET_FRACTION and r.p99_ms <= TARGET_P99_MS and r.errors == 0
                met = met and ok
                moon = moon and ok and fraction >= MOONSHOT_FRACTION
    print(f"\ntargets for the server as deployed ({'memo on' if modes[0] else 'memo off'}; each >= {TARGET_FRACTION} "
          f"of the floor, p99 <= {TARGET_P99_MS:.0f} ms, 0 errors): {'met' if met else 'NOT met'}; "
          f"moonshot (>= {MOONSHOT_FRACTION}): {'met' if moon else 'not met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
