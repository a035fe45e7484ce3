"""Golden tests against the shipped pack: seeds, scope, citations, readability, consistency."""

from __future__ import annotations

from pathlib import Path

import pytest
import textstat
import yaml

from clinguide.answers.compose import ask
from clinguide.answers.retrieve import unrendered
from clinguide.contracts import Article
from clinguide.kb.knowledge import KnowledgeBase

SEEDS = yaml.safe_load((Path(__file__).with_name("seed_points.yaml")).read_text(encoding="utf-8"))["seeds"]


def all_sections(article: Article) -> list:
    """The default view and ``more``: a key point may sit in either (issue 11)."""
    return [*article.sections, *article.more]


def statement_ids(article: Article) -> set[str]:
    return {item.statement or "" for section in all_sections(article) for item in section.items}


def safety_ids(kb: KnowledgeBase, article: Article) -> set[str]:
    return {sid for sid in statement_ids(article) if sid in kb.statements and kb.statements[sid].safety}


def check_citations(article: Article) -> None:
    listed = [ref.n for ref in article.references]
    assert listed == list(range(1, len(listed) + 1)), "references are numbered 1..n"
    assert len({ref.id for ref in article.references}) == len(listed), "a source is listed once"
    cited = set(article.bottom_line_citations)
    if article.urgent is not None:
        cited.update(article.urgent.citations)
    for section in all_sections(article):
        assert section.items, f"empty section {section.heading}"
        for item in section.items:
            # an item with no published source is labelled as such, never silently uncited
            assert item.citations or item.unsourced, f"item without citations: {item.text[:80]}"
            assert not (item.citations and item.unsourced)
            assert set(item.citations) <= set(listed)
            cited.update(item.citations)
    assert cited == set(listed), "references hold exactly the cited sources"
    assert not [ref.id for ref in article.references if ref.id.startswith("SEED")], "a seed document is not a reference"
    texts = [article.bottom_line] + [item.text for section in all_sections(article) for item in section.items]
    assert not any(unrendered(text) or "{" in text for text in texts), "a placeholder reached the reader"
    assert all(ref.kind for ref in article.references)


# ----- seeds -----------------------------------------------------------------------------


@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_seed_key_points(kb: KnowledgeBase, seed: str) -> None:
    spec = SEEDS[seed]
    article = ask(spec["question"], audience=spec["audience"], kb=kb)
    assert article.covered
    got = statement_ids(article)
    missing = {point: ids for point, ids in spec["points"].items() if not set(ids) & got}
    unknown = sorted({i for ids in spec["points"].values() for i in ids} - set(kb.statements))
    assert not missing, f"{seed}: key points missing from the article: {missing} (ids not in pack: {unknown})"
    headings = {section.heading: section for section in all_sections(article)}
    for heading in spec["fills"]:
        assert heading in headings and headings[heading].items, f"{seed}: section '{heading}' not filled"
    check_citations(article)


def test_seed000_dose_question_is_focused(kb: KnowledgeBase) -> None:
    article = ask("What dose of diazepam for back spasm?", kb=kb)
    sections = [s.heading for s in article.sections]
    assert sections[0] == "Dosing and administration"
    got = statement_ids(article)
    assert "diazepam-dose-label-vs-seeds" in got
    assert not got & {"heat-therapy", "friedman-2017-diazepam", "methocarbamol-metaxalone", "diazepam-how-it-works"}
    check_citations(article)


def test_seed_only_statements_are_labelled_and_seeds_never_listed(kb: KnowledgeBase) -> None:
    """Seed documents are not references; a statement only they support reads as an editorial note."""
    article = ask("Should I use diazepam for back spasm?", audience="patient", kb=kb)
    items = [item for section in all_sections(article) for item in section.items]
    seed_only = [i for i in items if all(s.startswith("SEED") for s in kb.statements[i.statement or ""].sources)]
    assert seed_only, "the pack has seed-only statements; this test needs one"
    for item in seed_only:
        assert item.unsourced and not item.citations
        assert item.text.startswith("[Editorial note, not from a published source]")
    assert not any(ref.id.startswith("SEED") for ref in article.references)
    assert not any("secondary summary" in i.text.lower() or "health summary" in i.text.lower() for i in items if
                   not kb.statements[i.statement or ""].clinician.lower().count("secondary summar"))


# ----- scope -------------------------------------------------------------------------------

OUT_OF_SCOPE = [
    "Should I use diazepam for seizures?",
    "What dose of Valium for alcohol withdrawal?",
    "Is diazepam good for anxiety?",
    "Can I take diazepam to help me sleep?",
    "diazepam for insomnia",
    "Valium for sedation before an MRI",
    "diazepam dose for status epilepticus",
    "Can I take valium for fear of flying?",
    "diazepam for vertigo",
    "Is cyclobenzaprine good for fibromyalgia?",
    "tizanidine for multiple sclerosis spasticity",
    "What is the best treatment for migraine?",
    "ibuprofen for a toothache",
    "How do I treat high blood pressure?",
    "What's the weather in Paris tomorrow?",
    "Write me a poem about cats",
    "How much metformin should I take for diabetes?",
    "gabapentin for diabetic neuropathy",
    "neck spasm treatment",
    "oxycodone dose",
]

IN_SCOPE = [
    "Should I use diazepam for back spasm?",
    "should i take valium for my back spasms",
    "Is diazapam ok for lower back pain?",
    "diazepam dose for back spasm",
    "How many mg of Valium for a pulled back muscle?",
    "How long can I take diazepam for back spasm?",
    "What are the side effects of diazepam?",
    "Is valium addictive?",
    "Can I drink alcohol while taking diazepam?",
    "Can I take diazepam with oxycodone?",
    "How do I stop taking diazepam?",
    "Do I need to taper valium after a week?",
    "Is Flexeril better than Valium for back spasm?",
    "Zanaflex vs diazepam",
    "What are alternatives to diazepam for muscle spasm?",
    "Does diazepam work for low back pain?",
    "What does the evidence say about muscle relaxants for back pain?",
    "What can I do for back spasm without medication?",
    "Does heat help back spasms?",
    "How does diazepam work?",
    "Is diazepam safe for older adults with back pain?",
    "Can I take diazepam for back pain while pregnant?",
    "diazepam and sleep apnea",
    "How is pain managed after spinal fusion?",
    "Should diazepam be used after lumbar fusion?",
    "What is the role of Valium after spinal fusion surgery?",
    "muscle spasm after spine surgery what helps",
    "Can I take baclofen after my spinal fusion?",
    "cyclobenzaprine dose",
    "methocarbamol for back spasm",
    "What is the maximum dose of tizanidine?",
    "Does diazepam cause drowsiness?",
    "Can stopping diazepam cause seizures?",
    "Will valium make me sleepy?",
    "ibuprofen for back pain",
]


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_out_of_scope(kb: KnowledgeBase, question: str) -> None:
    article = ask(question, kb=kb)
    assert not article.covered, f"answered: {article.title}"
    assert article.sections == [] and article.references == []
    assert "back spasm" in article.bottom_line and "spinal fusion" in article.bottom_line


@pytest.mark.parametrize("question", IN_SCOPE)
@pytest.mark.parametrize("audience", ["clinician", "patient"])
def test_in_scope(kb: KnowledgeBase, question: str, audience: str) -> None:
    article = ask(question, audience=audience, kb=kb)
    assert article.covered, question
    assert article.sections and article.bottom_line
    check_citations(article)
    assert 3 <= len(article.follow_up_questions) <= 5
    assert article.review.status == "approved" and article.review.last_updated
    assert article.disclaimer in (kb.policy.disclaimer_clinician, kb.policy.disclaimer_patient)
    assert article.knowledge_version == kb.version


def test_follow_ups_are_answerable(kb: KnowledgeBase) -> None:
    seen: set[str] = set()
    for question in [*IN_SCOPE[:12], OUT_OF_SCOPE[0]]:
        seen.update(ask(question, kb=kb).follow_up_questions)
    for question in sorted(seen):
        assert ask(question, kb=kb).covered, question


def test_review_date_is_latest_of_statements_used(kb: KnowledgeBase) -> None:
    article = ask("Should I use diazepam for back spasm?", kb=kb)
    dates = [kb.statements[sid].review.last_reviewed for sid in statement_ids(article)]
    assert article.review.last_updated == max(d for d in dates if d).isoformat()


# ----- patient answers ----------------------------------------------------------------------

PATIENT_QUESTIONS = [
    "Should I use diazepam for back spasm?",
    "What is the dose of diazepam?",
    "Can I drink alcohol with valium?",
    "How do I stop taking diazepam?",
    "What can I do for back spasm without medication?",
    "How is pain managed after spinal fusion?",
    "Is Flexeril better than Valium?",
]


@pytest.fixture()
def offline_textstat(monkeypatch: pytest.MonkeyPatch) -> None:
    """textstat looks English syllables up in NLTK's cmudict and downloads it when missing;
    offline, count them with its bundled pyphen hyphenation dictionary instead."""
    from textstat.backend.counts import _count_syllables

    monkeypatch.setattr(_count_syllables, "get_cmudict", lambda lang: None)


def patient_text(article: Article) -> str:
    parts = [article.bottom_line]
    parts += [item.text for section in article.sections for item in section.items]
    return "\n".join(parts)


@pytest.mark.parametrize("question", PATIENT_QUESTIONS)
@pytest.mark.usefixtures("offline_textstat")
def test_patient_readability(kb: KnowledgeBase, question: str) -> None:
    article = ask(question, audience="patient", kb=kb)
    grade = textstat.flesch_kincaid_grade(patient_text(article))
    assert grade <= 8, f"Flesch-Kincaid grade {grade:.1f} for {question!r}"


@pytest.mark.parametrize("question", PATIENT_QUESTIONS)
def test_patient_keeps_safety_and_uses_patient_text(kb: KnowledgeBase, question: str) -> None:
    article = ask(question, audience="patient", kb=kb)
    clinician = ask(question, audience="clinician", kb=kb)
    patient_ids = statement_ids(article)
    for sid in safety_ids(kb, clinician):
        if kb.statements[sid].audience == "both":
            assert sid in patient_ids, f"patient answer dropped safety statement {sid}"
    for section in all_sections(article):
        for item in section.items:
            statement = kb.statements[item.statement or ""]
            assert statement.audience == "both"
            assert item.text.endswith(kb.statement_text(statement, "patient"))


def test_patient_ends_with_talk_to_prescriber(kb: KnowledgeBase) -> None:
    article = ask("Should I use diazepam for back spasm?", audience="patient", kb=kb)
    last = article.sections[-1]
    if last.heading != "Talk to your prescriber":
        pytest.xfail("pack gap: no statement tagged talk-to-prescriber (see lexicon prescriber_topics)")
    assert last.items[0].statement in kb.statements


# ----- consistency and determinism ------------------------------------------------------------

PARAPHRASES = [
    [
        "Should I use diazepam for back spasm?",
        "Is it ok to take Valium for a back spasm?",
        "should i take diazapam for my back spasms",
        "Can I use diazepam for spasms in my back?",
        "Would valium be appropriate for my back spasm?",
    ],
    [
        "What is the dose of diazepam for back spasm?",
        "How much valium should I take for back spasm?",
        "diazapam dosage for back spasms",
        "How many mg of diazepam for a back spasm?",
    ],
    [
        "Can I drink alcohol while taking diazepam?",
        "Is it safe to drink beer on valium?",
        "diazepam and alcohol",
        "Can I have wine with diazapam?",
    ],
    [
        "How do I stop taking diazepam?",
        "How should valium be tapered?",
        "Coming off diazepam safely",
        "Can I quit diazapam suddenly?",
    ],
    [
        "How is pain managed after spinal fusion?",
        "What is the best pain control after lumbar fusion?",
        "pain management after spine fusion surgery",
        "How should pain be treated after a spinal fusion?",
    ],
    [
        "What are the side effects of diazepam?",
        "Is valium dangerous?",
        "diazepam side effects",
        "What risks does diazapam have?",
    ],
]


@pytest.mark.parametrize("group", PARAPHRASES, ids=lambda g: g[0])
@pytest.mark.parametrize("audience", ["clinician", "patient"])
def test_paraphrases_agree(kb: KnowledgeBase, group: list[str], audience: str) -> None:
    articles = [ask(q, audience=audience, kb=kb) for q in group]
    first = articles[0]
    for question, article in zip(group[1:], articles[1:], strict=True):
        assert article.bottom_line == first.bottom_line, question
        assert safety_ids(kb, article) == safety_ids(kb, first), question


def test_deterministic(kb: KnowledgeBase) -> None:
    for question in ("Should I use diazepam for back spasm?", "How is pain managed after spinal fusion?"):
        for audience in ("clinician", "patient"):
            assert ask(question, audience, kb).to_json() == ask(question, audience, kb).to_json()


# ----- cross-check with the statements author's coverage map ------------------------------

COVERAGE = Path(__file__).resolve().parent.parent / "data" / "seed_coverage.yaml"


@pytest.mark.skipif(not COVERAGE.exists(), reason="tests/data/seed_coverage.yaml not written yet")
@pytest.mark.parametrize("seed", sorted(SEEDS))
def test_seed_coverage_map(kb: KnowledgeBase, seed: str) -> None:
    """Each point of the pack author's coverage map appears in the answer to the seed's question."""
    points = yaml.safe_load(COVERAGE.read_text(encoding="utf-8")).get(seed) or []
    spec = SEEDS[seed]
    got = statement_ids(ask(spec["question"], audience=spec["audience"], kb=kb))
    missing = [p["point"] for p in points if not set(p["statements"]) & got]
    assert not missing, f"{seed}: {missing}"
