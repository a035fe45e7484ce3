"""Latency of `check`: p50/p99 in-process over 10,000 varied orders, KB load time, and one CLI call.

Run: .venv/bin/python bench/check.py [--n 10000] [--cli-runs 10]
Targets (2-core machine): p99 <= 2 ms in-process (issue #12); one whole
`clinguide check --sig ... --format json` process <= 0.3 s (issue #14; issue #12 asked <= 0.6 s),
median of the CLI runs after one warm-up run.

The machine is shared: quote medians, and compare before/after in the same run. Where
PYTHONDONTWRITEBYTECODE is set and the checkout holds no .pyc (as in the project's sandbox), every
start compiles the package's modules from source; the last line says so (``python -m compileall src``,
or a regular pip install, which byte-compiles, removes that cost).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

DRUGS = ["diazepam", "Valium", "cyclobenzaprine", "Flexeril", "tizanidine", "baclofen", "methocarbamol",
         "metaxalone", "carisoprodol", "orphenadrine", "diazapam", "flubberol", "Amrix", "Advil", "Norco 5/325"]
DOSES = ["2 mg", "5 mg", "10 mg", "5-10 mg", "15 mg", "0.5 g", "500 mcg", "750 mg", "800 mg", "5 g", "5 mL", "10",
         "1-2 tabs", "10 mg 2 tabs", "-5 mg"]
FREQS = ["daily", "BID", "TID", "QID", "q6h", "q8h", "q6-8h", "every 6 to 8 hours", "at bedtime", "twice a day",
         "three times daily", "up to 3 times a day", "q4h", "tid and hs", "qid prn", "tid #30", "q-8h"]
DAYS = ["", "x 3 days", "x 7 days", "x 14 days", "x 28 days", "for 2 weeks", "x5d"]
MEDS = ["oxycodone", "Norco 5/325", "sertraline", "fluvoxamine", "ciprofloxacin", "gabapentin", "lorazepam",
        "ibuprofen", "zolpidem", "phenelzine", "tramadol", "unknownium"]
CONDS = ["copd", "sleep apnea", "myasthenia gravis", "cirrhosis", "ckd", "falls", "substance use disorder", "zorbitis",
         "history of OUD on suboxone", "eGFR 25", "no history of OSA", "hepatitis C cirrhosis", "OSA on CPAP",
         "in recovery from alcoholism", "CKD stage 3b", "kidney stones"]


def orders(n: int, seed: int = 7) -> list[tuple[str, dict]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        sig = f"{rng.choice(DRUGS)} {rng.choice(DOSES)} PO {rng.choice(FREQS)} {'prn ' if rng.random() < .3 else ''}"
        sig += rng.choice(DAYS)
        case: dict = {}
        if rng.random() < 0.8:
            case["age"] = rng.randint(18, 95)
        case["medications"] = rng.sample(MEDS, rng.randint(0, 3))
        case["conditions"] = rng.sample(CONDS, rng.randint(0, 2))
        case["alcohol"] = rng.choice(["none", "moderate", "heavy"])
        case["setting"] = rng.choice(["back-spasm", "post-spinal-fusion"])
        if rng.random() < 0.5:
            case["symptom_days"] = rng.randint(0, 200)
        case["tried"] = rng.sample(["heat", "nsaid", "stretching"], rng.randint(0, 1))
        out.append((sig.strip(), case))
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--cli-runs", type=int, default=10)
    args = parser.parse_args()

    t0 = time.perf_counter()
    from clinguide.kb.loader import load

    kb = load()
    load_s = time.perf_counter() - t0
    from clinguide.checks.engine import check

    work = orders(args.n)
    check("diazepam 0.5 g tid", {}, kb=kb)  # warm the per-KB index
    times = []
    for sig, case in work:
        start = time.perf_counter()
        check(sig, case, kb=kb)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p50 = statistics.median(times)
    p99 = times[int(len(times) * 0.99) - 1]
    print(f"knowledge pack load (in-process, validated): {load_s * 1000:.0f} ms")
    print(f"check in-process over {len(times)} orders: p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {times[-1]:.2f} ms"
          f" (target p99 <= 2 ms: {'OK' if p99 <= 2 else 'MISSED'})")

    exe = Path(sys.executable).with_name("clinguide")
    cmd = [str(exe), "check", "--sig", "diazepam 5 mg PO q8h prn x 7 days", "--age", "70", "--med", "oxycodone",
           "--format", "json"]
    subprocess.run(cmd, check=True, capture_output=True)  # warm-up: page cache, pack cache
    walls = []
    for _ in range(args.cli_runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        walls.append(time.perf_counter() - start)
    median = statistics.median(walls)
    print(f"CLI `clinguide check --sig ... --format json`: best {min(walls):.3f} s, median "
          f"{median:.3f} s over {len(walls)} runs (target <= 0.3 s, issue #14: {'OK' if median <= 0.3 else 'MISSED'};"
          f" issue #12: <= 0.6 s)")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import clinguide.cli"], check=True)
    print(f"  of which Python start + CLI import: {time.perf_counter() - start:.3f} s")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "from clinguide.kb import shipped_kb; shipped_kb()"], check=True)
    print(f"  Python start + pack load: {time.perf_counter() - start:.3f} s")
    print(f"  {_bytecode_note()}")


def _bytecode_note() -> str:
    """Whether the package's modules start from up-to-date .pyc files or are compiled at every start."""
    import importlib.util

    import clinguide

    root = Path(clinguide.__file__).parent
    sources = [p for p in root.rglob("*.py") if "__pycache__" not in p.parts]
    stale = 0
    for source in sources:
        cached = Path(importlib.util.cache_from_source(str(source)))
        if not cached.exists() or cached.stat().st_mtime < source.stat().st_mtime:
            stale += 1
    if not stale:
        return "bytecode: every module of the package has an up-to-date .pyc"
    writes = "not written (PYTHONDONTWRITEBYTECODE)" if sys.dont_write_bytecode else "written on first import"
    return (f"bytecode: {stale} of {len(sources)} modules of the package have no up-to-date .pyc, so they are "
            f"compiled at every start ({writes}); `python -m compileall src` gives them one")


if __name__ == "__main__":
    main()
