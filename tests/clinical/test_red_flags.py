"""The red-flag detector on the shipped pack: every flag found three ways, negations respected, no false alarms."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from clinguide.clinical.red_flags import LEVEL_ORDER, RedFlagMatch, clauses, find_red_flags
from clinguide.kb import shipped_kb
from clinguide.kb.knowledge import KnowledgeBase


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return shipped_kb()


# Three phrasings per flag: a patient's words, another patient's words, a clinician's words.
PHRASINGS: dict[str, tuple[str, str, str]] = {
    "cauda-equina-bladder": (
        "back pain with leg numbness and I can't control my bladder",
        "My back went and now I cannot pee at all",
        "LBP with new urinary retention, can I give diazepam?",
    ),
    "cauda-equina-bowel": (
        "I've lost control of my bowels since my back started hurting",
        "back spasm and I soiled myself today",
        "Low back pain, new faecal incontinence - muscle relaxant?",
    ),
    "cauda-equina-saddle": (
        "I feel numb between my legs and my back hurts",
        "my bottom is numb, numb around my bottom when I sit, back spasms",
        "Patient reports saddle anaesthesia after lifting; valium?",
    ),
    "cauda-equina-both-legs": (
        "both my legs feel weak after my back went out",
        "I have sciatica down both legs",
        "bilateral leg weakness with acute low back pain",
    ),
    "progressive-neurological-deficit": (
        "my leg keeps giving way and my back is in spasm",
        "I can't lift my foot properly since the back pain started",
        "progressive weakness of knee extension, is diazepam reasonable?",
    ),
    "infection-fever": (
        "I have a fever and really bad back spasms",
        "back pain and I'm running a temperature",
        "LBP with rigors; which muscle relaxant?",
    ),
    "infection-risk": (
        "I inject drugs and my back hurts a lot",
        "I have a weakened immune system and back spasms",
        "immunosuppressed patient with new back pain, valium?",
    ),
    "malignancy": (
        "I had cancer two years ago and now my back hurts",
        "back pain and I'm losing weight without trying",
        "back pain with unexplained weight loss - diazepam?",
    ),
    "fracture-major-trauma": (
        "I was in a car accident and my back is in spasm",
        "I fell off a ladder and hurt my back",
        "back pain after a motor vehicle accident, muscle relaxant?",
    ),
    "fracture-osteoporotic": (
        "I have osteoporosis and I fell yesterday, now my back hurts",
        "I've been on steroids for years and my back suddenly hurts",
        "back pain in a patient on long-term corticosteroids",
    ),
    "post-op-chest-pain-breathlessness": (
        "I had a spinal fusion last week and have chest pain",
        "after my fusion I get short of breath",
        "post-fusion day 5, new shortness of breath",
    ),
    "post-op-bladder-bowel": (
        "since my spinal fusion I can't pee",
        "after my back surgery I have trouble holding urine",
        "post-op fusion patient with loss of bowel control",
    ),
    "post-op-neuro": (
        "after my fusion my legs are getting weaker",
        "new numbness in my foot since the spine surgery",
        "post spinal fusion with new weakness in the left leg",
    ),
    "post-op-infection": (
        "I had a fusion and now I have a fever",
        "after my spinal fusion I have chills",
        "post-op fusion day 6, febrile with rigors",
    ),
    "post-op-wound": (
        "my fusion wound is leaking",
        "after the spinal fusion there is pus coming out",
        "post-fusion incision is red and swollen, swollen incision",
    ),
    "post-op-calf": (
        "I had spinal fusion and now my calf is swollen",
        "after the back surgery I have calf pain",
        "post-op fusion, unilateral leg swelling",
    ),
}

POST_OP = "post-spinal-fusion"


def _setting(flag_id: str) -> str:
    return POST_OP if flag_id.startswith("post-op") else "back-spasm"


def test_every_pack_flag_has_phrasings(kb: KnowledgeBase) -> None:
    assert {flag.id for flag in kb.red_flags} == set(PHRASINGS)


@pytest.mark.parametrize(
    ("flag_id", "text"), [(flag_id, text) for flag_id, texts in PHRASINGS.items() for text in texts]
)
def test_each_flag_is_found_three_ways(kb: KnowledgeBase, flag_id: str, text: str) -> None:
    found = find_red_flags(kb, [text], setting=_setting(flag_id))
    assert flag_id in [m.id for m in found], (text, [m.id for m in found])
    # and with no setting given, every setting's flags are checked
    assert flag_id in [m.id for m in find_red_flags(kb, [text])]


def test_match_carries_the_pack_wording_and_sources(kb: KnowledgeBase) -> None:
    (match,) = [m for m in find_red_flags(kb, ["I can't control my bladder"]) if m.id == "cauda-equina-bladder"]
    assert isinstance(match, RedFlagMatch)
    assert match.level == "emergency"
    assert match.group == "cauda-equina"
    assert "emergency" in match.patient.lower()
    assert "S113" in match.sources
    assert match.matched == "can't control bladder"
    with pytest.raises(AttributeError):
        match.level = "same-day"  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        "no fever",
        "I don't have a fever",
        "no fever or chills",
        "I have no numbness between my legs",
        "denies saddle anaesthesia, no urinary retention",
        "there is no bladder problem and I don't have any numbness in both legs",
        "without any history of cancer",
        "I haven't lost control of my bladder",
        "not on long-term steroids",
    ],
)
def test_negated_mentions_do_not_fire(kb: KnowledgeBase, text: str) -> None:
    assert find_red_flags(kb, [text]) == []


@pytest.mark.parametrize(
    ("text", "flag_id"),
    [
        ("no fever, but I can't control my bladder", "cauda-equina-bladder"),
        ("I have no fever and I can't pee", "cauda-equina-bladder"),
        ("no chills. Numb between my legs", "cauda-equina-saddle"),
        ("I'm no longer able to control my bowels", "cauda-equina-bowel"),
    ],
)
def test_a_negation_reaches_only_its_own_clause(kb: KnowledgeBase, text: str, flag_id: str) -> None:
    assert flag_id in [m.id for m in find_red_flags(kb, [text])]


@pytest.mark.parametrize(
    "text",
    [
        "Should I take Valium for back spasm?",
        "can i drink alcohol with valium",
        "How long can I take diazepam?",
        "Can I take diazepam with ibuprofen?",
        "What is the dose of diazepam for muscle spasm?",
        "is flexeril safer than valium",
        "I had my fusion last week, can I take valium for the pain?",
        "What helps a back spasm at home?",
        "my lower back is stiff and sore after gardening",
        "Does diazepam cause cancer?",
        "I have osteoporosis; which muscle relaxant is safest?",
        "Is tizanidine with ciprofloxacin ok?",
        "back spasm after lifting a box, pain goes down one leg",
        "Can I drive after taking cyclobenzaprine?",
        "diazepam or baclofen after spinal fusion",
    ],
)
def test_ordinary_back_pain_questions_raise_none(kb: KnowledgeBase, text: str) -> None:
    assert find_red_flags(kb, [text]) == []


def test_most_urgent_first_then_pack_order(kb: KnowledgeBase) -> None:
    found = find_red_flags(
        kb, ["after my fusion I have a fever, my wound is leaking and I can't control my bladder"], setting=POST_OP
    )
    levels = [LEVEL_ORDER.index(m.level) for m in found]
    assert levels == sorted(levels)
    assert found[0].id == "cauda-equina-bladder"
    pack_order = [flag.id for flag in kb.red_flags]
    same_level = [m.id for m in found if m.level == "contact-surgical-team"]
    assert same_level == sorted(same_level, key=pack_order.index)
    assert len(same_level) >= 3


def test_setting_limits_the_flags(kb: KnowledgeBase) -> None:
    text = ["I have a fever"]
    assert [m.id for m in find_red_flags(kb, text, setting="back-spasm")] == ["infection-fever"]
    assert [m.id for m in find_red_flags(kb, text, setting=POST_OP)] == ["post-op-infection"]
    assert {m.id for m in find_red_flags(kb, text)} == {"infection-fever", "post-op-infection"}


def test_several_texts_are_read_together(kb: KnowledgeBase) -> None:
    found = find_red_flags(kb, ["back spasm", "", "urinary retention"])
    assert [m.id for m in found] == ["cauda-equina-bladder"]
    assert find_red_flags(kb, []) == []


def test_conjunction_trigger_needs_both_parts(kb: KnowledgeBase) -> None:
    assert find_red_flags(kb, ["I have osteoporosis"]) == []
    assert find_red_flags(kb, ["I fell over"]) == []
    assert [m.id for m in find_red_flags(kb, ["osteoporosis, and I fell"])] == ["fracture-osteoporotic"]


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_handled_and_ordered(text: str) -> None:
    kb = shipped_kb()
    found = find_red_flags(kb, [text])
    ranks = [LEVEL_ORDER.index(m.level) for m in found]
    assert ranks == sorted(ranks)
    assert len({m.id for m in found}) == len(found)
    for clause in clauses(text):
        assert all(word == word.lower() and word for word in clause)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["no ", "not ", "without ", "I don't have ", "denies "]))
def test_negating_a_trigger_never_fires_it(prefix: str) -> None:
    kb = shipped_kb()
    for flag in kb.red_flags:
        for trigger in flag.triggers:
            if " + " in trigger:
                continue
            assert flag.id not in [m.id for m in find_red_flags(kb, [prefix + trigger])], (prefix, trigger)
