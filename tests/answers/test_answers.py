"""Issue 11 against the shipped pack: direct bottom lines per answer type, the budget, red flags first,
paraphrase consistency, and interaction answers that agree with ``check``."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinguide.answers.bottom import MAX_SENTENCES, MAX_WORDS, sentences
from clinguide.answers.compose import ask
from clinguide.checks.engine import check
from clinguide.contracts import Article
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.placeholders import describe_dose, number

AUDIENCES = ("patient", "clinician")
WORD_BUDGET = {"patient": 350, "clinician": 600}
MAX_SECTIONS = 5
MAX_REFERENCES = 12


def default_words(article: Article) -> int:
    texts = [article.bottom_line] + [i.text for s in article.sections for i in s.items]
    if article.urgent is not None:
        texts.append(article.urgent.text)
    return sum(len(t.split()) for t in texts)


def default_citations(article: Article) -> set[int]:
    cited = set(article.bottom_line_citations)
    if article.urgent is not None:
        cited.update(article.urgent.citations)
    for section in article.sections:
        for item in section.items:
            cited.update(item.citations)
    return cited


def cited_ids(article: Article, numbers: list[int]) -> set[str]:
    by_n = {ref.n: ref.id for ref in article.references}
    return {by_n[n] for n in numbers}


def lower(text: str) -> str:
    return text.lower()


# ----- golden: one or more per answer type; each asserts the fact the question asks for -----------


def _cyclobenzaprine_max(kb: KnowledgeBase) -> str:
    rule = kb.dosing("cyclobenzaprine", "adult")
    assert rule is not None and rule.max_daily_mg
    return f"{number(rule.max_daily_mg)} mg"


def _diazepam_dose(kb: KnowledgeBase) -> str:
    rule = kb.dosing("diazepam", "adult")
    assert rule is not None
    return describe_dose(rule)


def _older_diazepam_dose(kb: KnowledgeBase) -> str:
    rule = kb.dosing("diazepam", "older-adult")
    assert rule is not None
    return describe_dose(rule)


def _diazepam_days(kb: KnowledgeBase) -> str:
    limit = kb.drugs["diazepam"].duration_limit
    assert limit is not None
    return f"{limit.days} days"


Check = Callable[[KnowledgeBase, str], bool]

GOLDEN: list[tuple[str, str, str, Check]] = [
    # (question, audience, answer type, what the bottom line must say)
    (
        "Can I drink alcohol on Valium?",
        "patient",
        "interaction",
        lambda kb, b: "do not drink alcohol" in lower(b) and any(w in lower(b) for w in ("breathing", "overdose")),
    ),
    ("Can I drink alcohol on Valium?", "clinician", "interaction", lambda kb, b: "no alcohol" in lower(b)),
    ("maximum daily dose of cyclobenzaprine", "clinician", "max-dose", lambda kb, b: _cyclobenzaprine_max(kb) in b),
    ("maximum daily dose of cyclobenzaprine", "patient", "max-dose", lambda kb, b: _cyclobenzaprine_max(kb) in b),
    ("tizanidine with ciprofloxacin", "clinician", "interaction", lambda kb, b: "contraindicated" in lower(b)),
    ("tizanidine with ciprofloxacin", "patient", "interaction", lambda kb, b: lower(b).startswith("no: do not take")),
    (
        "diazepam or baclofen after spinal fusion",
        "clinician",
        "compare",
        lambda kb, b: "diazepam" in lower(b) and "baclofen" in lower(b),
    ),
    (
        "diazepam or baclofen after spinal fusion",
        "patient",
        "compare",
        lambda kb, b: "diazepam" in lower(b) and "baclofen" in lower(b),
    ),
    ("is flexeril safer than valium", "patient", "compare", lambda kb, b: "cyclobenzaprine" in lower(b)
     and "diazepam" in lower(b)),
    ("What is the dose of diazepam for muscle spasm?", "patient", "dose", lambda kb, b: _diazepam_dose(kb) in b),
    ("What is the dose of diazepam for an elderly patient?", "clinician", "dose",
     lambda kb, b: _older_diazepam_dose(kb) in b),
    ("How long can I take diazepam?", "patient", "how-long", lambda kb, b: _diazepam_days(kb) in b),
    ("How do I stop taking diazepam?", "patient", "stopping", lambda kb, b: "suddenly" in lower(b)),
    ("How do I stop taking diazepam?", "clinician", "stopping", lambda kb, b: "taper" in lower(b)),
    ("What are the side effects of diazepam?", "patient", "side-effects",
     lambda kb, b: "sleepy" in lower(b) or "dizzy" in lower(b)),
    ("Can I take diazepam while pregnant?", "patient", "pregnancy", lambda kb, b: "pregnan" in lower(b)),
    ("Is diazepam safe for my 80 year old mother?", "patient", "older-adults",
     lambda kb, b: "65 or older" in lower(b) and "avoid" in lower(b)),
    ("Can I drive on diazepam?", "patient", "driving", lambda kb, b: lower(b).startswith("do not drive")),
    ("How does diazepam work?", "patient", "mechanism", lambda kb, b: "sedative" in lower(b)),
    ("Does diazepam work for back pain?", "clinician", "evidence",
     lambda kb, b: "no benefit" in lower(b) or "no convincing evidence" in lower(b)),
    ("Which muscle relaxant is best for back spasm?", "patient", "alternatives", lambda kb, b: "relaxant" in lower(b)),
    ("What can I do at home for a back spasm?", "patient", "home-care", lambda kb, b: "heat" in lower(b)),
    ("Should I take Valium for back spasm?", "patient", "should-use", lambda kb, b: "not a first choice" in lower(b)),
    ("Should I take Valium for back spasm?", "clinician", "should-use", lambda kb, b: "short-term" in lower(b)),
    ("I had my fusion last week, can I take valium for the pain?", "patient", "after-spinal-fusion",
     lambda kb, b: "not used as a pain medicine" in lower(b) and "surgical team" in lower(b)),
    ("How is pain managed after spinal fusion?", "clinician", "after-spinal-fusion",
     lambda kb, b: "paracetamol" in lower(b) and "nsaid" in lower(b)),
    ("Can I take diazepam with ibuprofen?", "patient", "interaction",
     lambda kb, b: "no information" in lower(b) and "not mean it is safe" in lower(b)),
    ("Can I take diazepam with oxycodone?", "clinician", "interaction", lambda kb, b: "avoid" in lower(b)),
    ("how long does valium stay in your system", "patient", "half-life", lambda kb, b: "two days" in lower(b)),
    ("How many valium can I take in a day?", "patient", "max-dose",
     lambda kb, b: f"{number(kb.dosing('diazepam', 'adult').max_daily_mg)} mg" in b),  # type: ignore[union-attr]
    # the pack's older-adult age is rendered, not typed
    ("Is methocarbamol ok for my 75 year old dad?", "patient", "older-adults",
     lambda kb, b: f"{kb.policy.older_adult_min_age} or older" in b and "avoid" in b and "methocarbamol" in b),
    # a monograph field answers where no statement does (the relaxant's Beers rule)
    ("Is carisoprodol ok for my 75 year old dad?", "clinician", "older-adults",
     lambda kb, b: "beers" in lower(b) and "carisoprodol" in lower(b)),
    # where the pack has nothing for the drug, the answer says so instead of answering about another drug
    ("Is it safe to take cyclobenzaprine while breastfeeding?", "patient", "pregnancy",
     lambda kb, b: "no checked information on cyclobenzaprine" in lower(b)),
    ("can I drive on tizanidine", "clinician", "driving", lambda kb, b: "no driving statement for tizanidine" in b),
    # a condition named with the drug: the statement about both (the label contraindication)
    ("Can I take Valium for back spasm if I have sleep apnea?", "patient", "condition",
     lambda kb, b: "sleep apnea" in lower(b) and "should not take diazepam" in lower(b)),
    ("Can I take Valium for back spasm if I have sleep apnea?", "clinician", "condition",
     lambda kb, b: "contraindication" in lower(b)),
    ("I'm 68, what muscle relaxant is safest?", "patient", "older-adults",
     lambda kb, b: f"{kb.policy.older_adult_min_age} or older" in b and "avoiding most muscle relaxants" in b),
    ("Is it bad to take valium every night for a month?", "patient", "how-long", lambda kb, b: _diazepam_days(kb) in b),
    # the pack's dosing is for adults: a child's age gets an honest gap, not an adult dose
    ("can i give my 15 year old cyclobenzaprine", "patient", "children",
     lambda kb, b: "for adults" in lower(b) and "mg" not in lower(b)),
]


@pytest.mark.parametrize(("question", "audience", "answer_type", "says"), GOLDEN, ids=lambda v: str(v)[:40])
def test_bottom_line_answers_the_question(
    kb: KnowledgeBase, question: str, audience: str, answer_type: str, says: Check
) -> None:
    article = ask(question, audience=audience, kb=kb)
    assert article.covered
    assert article.answer_type == answer_type
    assert says(kb, article.bottom_line), article.bottom_line
    assert "{" not in article.bottom_line


# ----- bottom line shape and citations ------------------------------------------------------

ALL_GOLDEN_QUESTIONS = sorted({q for q, *_rest in GOLDEN})


@pytest.mark.parametrize("question", ALL_GOLDEN_QUESTIONS)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_bottom_line_is_short_and_carries_published_citations(kb: KnowledgeBase, question: str, audience: str) -> None:
    article = ask(question, audience=audience, kb=kb)
    assert len(sentences(article.bottom_line)) <= MAX_SENTENCES, article.bottom_line
    assert len(article.bottom_line.split()) <= MAX_WORDS, article.bottom_line
    honest_gap = any(
        words in article.bottom_line
        for words in ("no information", "no interaction rule", "no checked information", "no reviewed statement",
                      "no driving statement", "no older-adult statement", "no paediatric statement")
    )
    assert article.bottom_line_citations or honest_gap, "a bottom line without citations"
    assert not [s for s in cited_ids(article, article.bottom_line_citations) if s.startswith("SEED")]


# ----- budget ---------------------------------------------------------------------------------


@pytest.mark.parametrize("question", ALL_GOLDEN_QUESTIONS)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_default_view_keeps_to_the_budget(kb: KnowledgeBase, question: str, audience: str) -> None:
    article = ask(question, audience=audience, kb=kb)
    assert default_words(article) <= WORD_BUDGET[audience], default_words(article)
    assert len(article.sections) <= MAX_SECTIONS
    assert len(default_citations(article)) <= MAX_REFERENCES
    shown = {item.statement for s in article.sections for item in s.items}
    more = {item.statement for s in article.more for item in s.items}
    assert not shown & more, "a statement is both in the default view and in more"
    assert {ref.n for ref in article.references} >= default_citations(article)


@pytest.mark.parametrize(
    ("question", "kept"),
    [
        ("Can I drink alcohol on Valium?", {"alcohol-with-diazepam"}),
        ("Can I take diazepam with oxycodone?", {"opioid-boxed-warning"}),
        ("Is diazepam safe for my 80 year old mother?", {"older-adults-avoid-benzodiazepines"}),
        ("What is the dose of diazepam for muscle spasm?", {"driving-and-machinery", "abuse-misuse-boxed-warning"}),
    ],
)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_frame_safety_points_stay_in_the_default_view(
    kb: KnowledgeBase, question: str, kept: set[str], audience: str
) -> None:
    article = ask(question, audience=audience, kb=kb)
    used = {item.statement for s in article.sections for item in s.items}
    # the point is in the default view, or it is the statement the bottom line opens with
    bottom_sources = cited_ids(article, article.bottom_line_citations)
    for sid in kept:
        in_bottom = set(kb.statements[sid].sources) <= bottom_sources | {s for s in kb.statements[sid].sources
                                                                          if s.startswith("SEED")}
        assert sid in used or in_bottom, f"{sid} dropped from the default view"


def test_near_duplicates_are_not_both_shown(kb: KnowledgeBase) -> None:
    from clinguide.answers.budget import _vocabulary, near_duplicate

    for question in ALL_GOLDEN_QUESTIONS:
        article = ask(question, audience="patient", kb=kb)
        texts = [_vocabulary(i.text) for s in article.sections for i in s.items]
        for i, a in enumerate(texts):
            for b in texts[i + 1 :]:
                if near_duplicate(a, b):
                    # only kept safety points may repeat one another
                    pytest.fail(f"near-duplicate items in {question!r}")


# ----- red flags first --------------------------------------------------------------------------

RED_FLAG_QUESTIONS: list[tuple[str, str]] = [
    ("back pain with leg numbness and I can't control my bladder", "emergency"),
    ("I have lost control of my bowels and my back hurts", "emergency"),
    ("my back hurts and I feel numb between my legs, can I take valium?", "emergency"),
    ("both legs feel weak since my back went, what muscle relaxant can I take?", "emergency"),
    ("I have a fever and back spasms, should I take diazepam?", "same-day"),
    ("I inject drugs and have new back pain", "same-day"),
    ("I had cancer and now have back pain at night, severe night pain", "same-day"),
    ("my foot drop started with the back pain, what helps?", "same-day"),
    ("my back hurts and I have a temperature of 39", "same-day"),
    ("I was in a car accident and now my back is in spasm", "emergency"),
    ("I had my spinal fusion last week and my wound is leaking", "contact-surgical-team"),
    ("after my fusion I have a fever, can I take tylenol?", "contact-surgical-team"),
    ("after spinal fusion my calf is swollen", "contact-surgical-team"),
    ("after my spinal fusion I am short of breath", "emergency"),
]


@pytest.mark.parametrize(("question", "level"), RED_FLAG_QUESTIONS)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_red_flag_questions_get_the_urgent_block(kb: KnowledgeBase, question: str, level: str, audience: str) -> None:
    article = ask(question, audience=audience, kb=kb)
    assert article.urgent is not None, question
    assert article.urgent.level == level
    assert article.urgent.citations and article.urgent.text
    assert not cited_ids(article, article.urgent.citations) & {"SEED000", "SEED001", "SEED002", "SEED003", "SEED004"}
    if not article.covered or article.answer_type == "red-flags":
        # nothing that reads as self-care comes before or instead of the action
        assert article.sections == []
        assert not re.search(r"\bheat\b|heating pad|stretch", article.bottom_line.lower())


def test_red_flag_only_question_does_not_answer_with_self_care(kb: KnowledgeBase) -> None:
    article = ask("back pain with leg numbness and I can't control my bladder", audience="patient", kb=kb)
    assert article.answer_type == "red-flags"
    assert "emergency" in article.bottom_line.lower()
    assert article.sections == [] and article.more  # the rest waits under "More detail"


NO_RED_FLAG = [
    "Should I take Valium for back spasm?",
    "can i drink alcohol with valium",
    "How long can I take diazepam?",
    "Can I take diazepam with ibuprofen?",
    "What is the dose of diazepam for muscle spasm?",
    "is flexeril safer than valium",
    "I had my fusion last week, can I take valium for the pain?",
    "How is pain managed after spinal fusion?",
    "Does heat help back spasms?",
    "I have no fever and no numbness, just a stiff back: what helps?",
    "My back spasm is worse at night when I lie down",
    "Is diazepam safe if I have osteoporosis?",
]


@pytest.mark.parametrize("question", NO_RED_FLAG)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_no_red_flag_no_false_alarm(kb: KnowledgeBase, question: str, audience: str) -> None:
    assert ask(question, audience=audience, kb=kb).urgent is None


# ----- consistency --------------------------------------------------------------------------------

PARAPHRASES = [
    ["Can I drink alcohol on Valium?", "is it ok to have a beer while taking diazepam", "valium and alcohol",
     "Can I drink wine on diazapam?"],
    ["What is the maximum daily dose of cyclobenzaprine?", "max dose of flexeril per day",
     "how much cyclobenzaprine is too much in a day"],
    ["Can I take tizanidine with ciprofloxacin?", "tizanidine and cipro together", "is zanaflex ok with ciprofloxacin"],
    ["How long can I take diazepam?", "how many days can i use valium", "Is it ok to take diazepam long term?"],
    ["How do I come off diazepam?", "stopping valium safely", "Can I quit diazepam cold turkey?"],
    ["Is flexeril safer than valium?", "cyclobenzaprine vs diazepam", "which is better, valium or flexeril"],
    ["Can I drive on diazepam?", "is it safe to drive after taking valium", "driving and diazepam"],
    ["back pain and I can't control my bladder", "I can't pee and my back is killing me",
     "back spasm with urinary retention"],
]


@pytest.mark.parametrize("group", PARAPHRASES, ids=lambda g: g[0][:40])
@pytest.mark.parametrize("audience", AUDIENCES)
def test_paraphrases_get_the_same_bottom_line(kb: KnowledgeBase, group: list[str], audience: str) -> None:
    articles = [ask(q, audience=audience, kb=kb) for q in group]
    first = articles[0]
    for question, article in zip(group[1:], articles[1:], strict=True):
        assert article.answer_type == first.answer_type, question
        assert article.bottom_line == first.bottom_line, question
        assert (article.urgent is None) == (first.urgent is None), question


# ----- one engine: an interaction answer and check agree -------------------------------------------

PAIRS = [
    ("tizanidine", "ciprofloxacin", "Can I take tizanidine with ciprofloxacin?"),
    ("diazepam", "oxycodone", "Can I take diazepam with oxycodone?"),
    ("cyclobenzaprine", "sertraline", "Can I take cyclobenzaprine with sertraline?"),
    ("diazepam", "ibuprofen", "Can I take diazepam with ibuprofen?"),
    ("cyclobenzaprine", "phenelzine", "Is cyclobenzaprine ok with phenelzine?"),
    ("methocarbamol", "naproxen", "Can I take methocarbamol with naproxen?"),
]


@pytest.mark.parametrize(("drug", "other", "question"), PAIRS)
@pytest.mark.parametrize("audience", AUDIENCES)
def test_interaction_answer_agrees_with_check(
    kb: KnowledgeBase, drug: str, other: str, question: str, audience: str
) -> None:
    if other not in kb.drugs:
        pytest.fail(f"{other} is not in the pack; pick a pair the pack knows")
    result = check({"drug": drug}, {"medications": [other]}, kb=kb)
    codes = {rule.code for rule in kb.interactions}
    findings = [f for f in result.findings if f.code in codes]
    article = ask(question, audience=audience, kb=kb)
    assert article.answer_type == "interaction"
    bottom = article.bottom_line.lower()
    if not findings:
        assert "no interaction rule" in bottom or "no information" in bottom
        assert "not" in bottom and ("safe" in bottom)
        return
    worst = min(findings, key=lambda f: {"critical": 0, "warning": 1, "info": 2}[f.severity])
    assert set(worst.sources) & cited_ids(article, article.bottom_line_citations), "the rule's sources are cited"
    if worst.severity == "critical":
        assert any(w in bottom for w in ("contraindicated", "avoid", "do not take", "usually not"))
    else:
        assert any(w in bottom for w in ("caution", "needs care", "no alcohol", "do not drink"))


def test_alcohol_answer_agrees_with_check(kb: KnowledgeBase) -> None:
    result = check({"drug": "diazepam"}, {"alcohol": "moderate"}, kb=kb)
    assert any(f.code == "alcohol" for f in result.findings)
    article = ask("Can I drink alcohol with diazepam?", audience="clinician", kb=kb)
    rule = next(r for r in kb.interactions if r.code == "alcohol")
    assert set(rule.sources) <= cited_ids(article, article.bottom_line_citations)


# ----- the frames are data: every id they name exists, and they carry review metadata -------------


def test_frames_data_names_only_pack_statements(kb: KnowledgeBase) -> None:
    from clinguide.answers.frames import frame_book

    raw = frame_book().raw
    assert raw["review"]["status"] == "approved" and raw["review"]["reviewer"] and raw["review"]["last_reviewed"]
    named: list[str] = list(raw["universal_keep"])
    for population in raw["populations"].values():
        named += population.get("keep", [])
    for frame in raw["frames"]:
        named += frame.get("keep", [])
        named += [frame["close"]] if frame.get("close") else []
        for recipe in frame.get("bottom", []):
            named += recipe.get("statements", [])
            for wording in (recipe.get("template"), recipe.get("gap")):
                if wording:
                    assert set(wording) == {"clinician", "patient"}, frame["id"]
    missing = sorted(set(named) - set(kb.statements))
    assert not missing, f"frames.yaml names statements the pack does not have: {missing}"
    ids = [frame["id"] for frame in raw["frames"]]
    assert len(ids) == len(set(ids))
    for level in ("emergency", "same-day", "contact-surgical-team"):
        assert set(raw["red_flag_bottom"][level]) == {"clinician", "patient"}


# ----- properties -------------------------------------------------------------------------------

WORDS = st.sampled_from(
    [
        "diazepam", "valium", "flexeril", "tizanidine", "with", "alcohol", "dose", "max", "how", "long", "or",
        "no", "fever", "after", "fusion", "back", "spasm", "can't", "pee", "pregnant", "older", "my", "80",
        "year", "old", "stop", "is", "safe", "drive", "work", "ciprofloxacin", "oxycodone", "and", "?",
    ]
)


@settings(max_examples=80, deadline=None)
@given(st.lists(WORDS, min_size=1, max_size=10), st.sampled_from(AUDIENCES))
def test_any_question_gets_a_short_cited_answer_within_budget(words: list[str], audience: str) -> None:
    from clinguide.clinical.red_flags import find_red_flags
    from clinguide.kb import shipped_kb

    kb = shipped_kb()
    question = " ".join(words)
    article = ask(question, audience=audience, kb=kb)
    assert len(article.bottom_line.split()) <= MAX_WORDS or not article.covered
    if article.covered:
        assert len(sentences(article.bottom_line)) <= MAX_SENTENCES
        assert default_words(article) <= WORD_BUDGET[audience]
        assert len(article.sections) <= MAX_SECTIONS and len(default_citations(article)) <= MAX_REFERENCES
    # an urgent block only when the detector finds a red flag in the question
    if article.urgent is not None:
        assert find_red_flags(kb, [question])
    listed = {ref.n for ref in article.references}
    assert default_citations(article) <= listed


URGENT_QUESTIONS = [
    "I have back spasm and numbness in my groin and can't pee, should I take diazepam?",
    "back pain with fever and history of cancer, what is the dose of diazepam",
    "back spasm 3 days after spinal fusion with fever and wound drainage, can I take more diazepam",
]


@pytest.mark.parametrize("audience", ["clinician", "patient"])
@pytest.mark.parametrize("question", URGENT_QUESTIONS)
def test_follow_ups_under_an_urgent_block_are_about_safety_not_dosing(
    kb: KnowledgeBase, question: str, audience: str
) -> None:
    article = ask(question, audience, kb=kb)
    assert article.urgent is not None
    assert article.follow_up_questions  # still offered, and answerable
    for follow_up in article.follow_up_questions:
        lowered = follow_up.lower()
        assert not re.search(r"\bdose\b|\bdosing\b|stopped|without medication|considered|alternatives", lowered), (
            follow_up)
        assert re.search(r"risk|side effect|alcohol|opioid", lowered), follow_up


def test_follow_ups_without_an_urgent_block_still_offer_the_drug_questions(kb: KnowledgeBase) -> None:
    article = ask("what are the side effects of diazepam", kb=kb)
    assert article.urgent is None
    assert any("dose" in q.lower() for q in article.follow_up_questions)


def test_controlled_substance_question_is_answered_from_the_drugs_sourced_statement(kb: KnowledgeBase) -> None:
    for audience in ("clinician", "patient"):
        article = ask("is carisoprodol a controlled substance", audience, kb=kb)
        assert article.answer_type == "dependence"
        assert article.bottom_line_citations
        cited = cited_ids(article, article.bottom_line_citations)
        assert "S121" in cited  # the carisoprodol label
    clinician = ask("is carisoprodol a controlled substance", kb=kb)
    assert "Schedule IV" in clinician.bottom_line
    assert "mg" not in clinician.bottom_line  # not the dose line


def test_addiction_question_without_a_sourced_statement_is_an_honest_gap(kb: KnowledgeBase) -> None:
    article = ask("is methocarbamol addictive", kb=kb)
    assert article.answer_type == "dependence"
    assert "no sourced statement" in article.bottom_line and "methocarbamol" in article.bottom_line
    assert not article.bottom_line_citations
    assert "less addiction" not in article.bottom_line.lower()
    diazepam = ask("is diazepam addictive", kb=kb)
    assert "addiction" in diazepam.bottom_line.lower() and diazepam.bottom_line_citations
