"""Latency of `ask` in-process: p50/p99 over 200 varied questions, and the bm25 index build time.

Reports the default answer (ask + markdown of the budgeted view) and the full answer
(ask + markdown with `more`, as `clinguide ask --full`), and the median words per answer
for each audience (default view: urgent block + bottom line + sections; full: everything).

Run: .venv/bin/python bench/ask.py   (target: p99 <= 30 ms)
"""

from __future__ import annotations

import itertools
import statistics
import time

from clinguide.answers import retrieve
from clinguide.answers.compose import ask
from clinguide.contracts import Article
from clinguide.kb import get_kb
from clinguide.render.article import render

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
    "What is the maximum daily dose of {d}?",
    "How long can I take {d}?",
    "Is {d} better than diazepam?",
    "Can I take {d} with ibuprofen?",
]
OTHERS = [
    "How is pain managed after spinal fusion?",
    "What can I do for back spasm without medication?",
    "Do muscle relaxants work for back pain?",
    "What is the weather tomorrow?",
    "Best treatment for migraine?",
    "How should severe back spasms be managed?",
    "back pain with leg numbness and I can't control my bladder",
    "I had my fusion last week and my wound is leaking",
    "I have a fever and back spasms, should I take diazepam?",
]


def questions(n: int = 200) -> list[tuple[str, str]]:
    """n questions cycling over every template x drug and the setting questions; every third for patients."""
    pool = [t.format(d=d) for d, t in itertools.product(DRUGS, TEMPLATES)] + OTHERS
    step = 7  # coprime with the pool size, so consecutive questions differ in drug and template
    return [(pool[(i * step) % len(pool)], "patient" if i % 3 == 2 else "clinician") for i in range(n)]


def words(article: Article, full: bool) -> int:
    texts = [article.bottom_line] + [i.text for s in article.sections for i in s.items]
    if article.urgent is not None:
        texts.append(article.urgent.text)
    if full:
        texts += [i.text for s in article.more for i in s.items]
    return sum(len(t.split()) for t in texts)


def percentiles(times: list[float]) -> tuple[float, float]:
    times = sorted(times)
    return statistics.median(times), times[min(len(times) - 1, round(0.99 * len(times)) - 1)]


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
    for question, audience in qs:  # warm the per-version caches (follow-up checks, check indexes) first
        ask(question, audience, kb=kb)
    timing: dict[bool, list[float]] = {False: [], True: []}
    counts: dict[tuple[str, bool], list[int]] = {}
    covered = 0
    for full in (False, True):
        for question, audience in qs:
            t0 = time.perf_counter()
            article = ask(question, audience, kb=get_kb())  # the KB is fetched per request, as the service does
            render(article, "markdown", full=full)
            timing[full].append((time.perf_counter() - t0) * 1000)
            if article.covered:
                counts.setdefault((audience, full), []).append(words(article, full))
            covered += article.covered and not full
    print(f"knowledge pack {kb.version}: {len(kb.statements)} statements, {len(index.ids)} indexed")
    print(f"index build: {build_ms:.1f} ms (bm25s over rendered statements); first ask: {first_ms:.1f} ms")
    for full, label in ((False, "default"), (True, "--full")):
        p50, p99 = percentiles(timing[full])
        print(f"{label:8} answer over {len(qs)} questions ({covered} covered): p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    for audience in ("patient", "clinician"):
        default = statistics.median(counts[(audience, False)])
        full_words = statistics.median(counts[(audience, True)])
        print(f"median words per covered answer, {audience}: default {default:.0f}, --full {full_words:.0f}")
    p99 = percentiles(timing[False])[1]
    print("target p99 <= 30 ms:", "met" if p99 <= 30 else "NOT met")


if __name__ == "__main__":
    main()
