"""Latency of assess() in-process over varied cases (target p99 <= 5 ms on 2 cores). Prints figures only."""

from __future__ import annotations

import itertools
import statistics
import time

from clinguide.kb import shipped_kb
from clinguide.plans.assess import assess


def cases() -> list[dict]:
    ages = [30, 44, 67, 82]
    days = [3, 40, 120]
    spasm = ["none", "mild", "moderate", "severe"]
    tried = [[], ["heat", "ibuprofen"]]
    meds = [[], ["oxycodone"], ["sertraline", "zolpidem"]]
    out = [
        {"age": a, "symptom_days": d, "spasm": s, "tried": t, "medications": m}
        for a, d, s, t, m in itertools.product(ages, days, spasm, tried, meds)
    ]
    for phase, hours in (("pre-op", None), ("intra-op", None), ("post-op", 12), ("post-op", 90)):
        out.append(
            {
                "age": 55,
                "setting": "post-spinal-fusion",
                "surgery_phase": phase,
                "hours_since_surgery": hours,
                "spasm": "severe",
            }
        )
    return out


def main() -> None:
    kb = shipped_kb()
    sample = cases()
    for case in sample[:50]:  # warm caches
        assess(case, kb=kb)
    timings = []
    for _ in range(5):
        for case in sample:
            start = time.perf_counter()
            assess(case, kb=kb)
            timings.append((time.perf_counter() - start) * 1000)
    timings.sort()
    p50 = statistics.median(timings)
    p99 = timings[int(len(timings) * 0.99) - 1]
    print(
        f"assess: {len(timings)} calls over {len(sample)} cases; "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms (target p99 <= 5 ms)"
    )


if __name__ == "__main__":
    main()
