"""Latency of `ask` in-process: p50/p99 over 200 varied questions, and the bm25 index build time.

Run: .venv/bin/python bench/ask.py   (target: p99 <= 30 ms)
"""

from __future__ import annotations

import itertools
import statistics
import time

from clinguide.answers import retrieve
from clinguide.answers.compose import ask
from clinguide.kb import get_kb

DRUGS = [
    "diazepam",
    "Valium",
    "diazapam",
    "Flexeril",
    "cyclobenzaprine",
    "Zanaflex",
    "tizanidine",
    "methocarbamol",
    "baclofen",
    "metaxalone",
]
TEMPLATES = [
    "Should I use {d} for back spasm?",
    "What is the dose of {d}?",
    "Can I drink alcohol with {d}?",
    "How do I stop taking {d}?",
    "What are the side effects of {d}?",
    "Is {d} safe for older adults?",
    "Does {d} work for low back pain?",
    "What are the alternatives to {d}?",
    "Can I take {d} with oxycodone?",
    "Should {d} be used after spinal fusion?",
    "How does {d} work?",
    "{d} for seizures",
    "Can I take {d} while pregnant for my back?",
]
OTHERS = [
    "How is pain managed after spinal fusion?",
    "What can I do for back spasm without medication?",
    "Do muscle relaxants work for back pain?",
    "What is the weather tomorrow?",
    "Best treatment for migraine?",
    "How should severe back spasms be managed?",
]


def questions(n: int = 200) -> list[tuple[str, str]]:
    """n questions cycling over every template x drug and the setting questions; every third for patients."""
    pool = [t.format(d=d) for d, t in itertools.product(DRUGS, TEMPLATES)] + OTHERS
    step = 7  # coprime with the pool size, so consecutive questions differ in drug and template
    return [(pool[(i * step) % len(pool)], "patient" if i % 3 == 2 else "clinician") for i in range(n)]


def main() -> None:
    kb = get_kb()
    started = time.perf_counter()
    index = retrieve.build_index(kb)
    build_ms = (time.perf_counter() - started) * 1000
    retrieve._CACHE[kb.version] = index  # serve from the index just timed
    started = time.perf_counter()
    ask("Should I use diazepam for back spasm?", kb=kb)  # first call: name tables, rendered texts
    first_ms = (time.perf_counter() - started) * 1000

    qs = questions(200)
    times: list[float] = []
    covered = 0
    for question, audience in qs:
        t0 = time.perf_counter()
        article = ask(question, audience, kb=get_kb())  # the KB is fetched per request, as the service does
        times.append((time.perf_counter() - t0) * 1000)
        covered += article.covered
    times.sort()
    p50 = statistics.median(times)
    p99 = times[min(len(times) - 1, round(0.99 * len(times)) - 1)]
    print(f"knowledge pack {kb.version}: {len(kb.statements)} statements, {len(index.ids)} indexed")
    print(f"index build: {build_ms:.1f} ms (bm25s over rendered statements); first ask: {first_ms:.1f} ms")
    print(f"ask over {len(times)} questions ({covered} covered): p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    print(f"slowest: {times[-1]:.2f} ms")
    print("target p99 <= 30 ms:", "met" if p99 <= 30 else "NOT met")


if __name__ == "__main__":
    main()
