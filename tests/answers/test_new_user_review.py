"""Answers a clinician would be embarrassed by, found by trying `ask` as new users would (session 17).

Each test asserts what the reader must understand, not the exact wording.
"""

from __future__ import annotations

import pytest

from clinguide.answers.bottom import sentences
from clinguide.answers.budget import limits
from clinguide.answers.compose import ask
from clinguide.answers.frames import frame_book
from clinguide.checks.engine import check
from clinguide.contracts import Article
from clinguide.kb.knowledge import KnowledgeBase


def lower(text: str) -> str:
    return text.lower()


def default_text(article: Article) -> str:
    return " ".join(item.text for section in article.sections for item in section.items)


def default_words(article: Article) -> int:
    return sum(len(item.text.split()) for section in article.sections for item in section.items)


# ----- a red flag with a drug question: the action first, then a brief answer -----------------

RED_FLAG_DRUG_QUESTIONS = [
    ("fever of 39 and back pain should I take diazepam", "same-day", ("today",)),
    ("pt with fever 39 and LBP, ok to start diazepam?", "same-day", ("today", "same-day")),
    ("saddle numbness and back pain, can I take flexeril", "emergency", ("emergency",)),
    ("i had spine fusion 3 days ago and have a fever can i take valium", "contact-surgical-team", ("surgical team",)),
    ("back pain and I cant control my bladder, how much valium can I take", "emergency", ("emergency",)),
]


@pytest.mark.parametrize("audience", ["patient", "clinician"])
@pytest.mark.parametrize(("question", "level", "action_words"), RED_FLAG_DRUG_QUESTIONS)
def test_red_flag_bottom_line_opens_with_the_action(
    kb: KnowledgeBase, question: str, level: str, action_words: tuple[str, ...], audience: str
) -> None:
    article = ask(question, audience=audience, kb=kb)
    assert article.covered, article.bottom_line
    assert article.urgent is not None and article.urgent.level == level
    first = lower(sentences(article.bottom_line)[0])
    assert any(word in first for word in action_words), article.bottom_line
    assert "diazepam" not in first and "cyclobenzaprine" not in first, "the drug comes after the action"
    # the bottom line still cites what the action rests on (the red-flag sources)
    assert set(article.urgent.citations) <= set(article.bottom_line_citations)


@pytest.mark.parametrize("audience", ["patient", "clinician"])
def test_red_flag_drug_answer_is_brief(kb: KnowledgeBase, audience: str) -> None:
    article = ask("fever of 39 and back pain should I take diazepam", audience=audience, kb=kb)
    budget = limits(audience, urgent=True)
    assert default_words(article) <= budget.words
    assert len(article.sections) <= budget.sections
    calm = ask("back pain should I take diazepam", audience=audience, kb=kb)
    assert calm.urgent is None and not lower(calm.bottom_line).startswith(("see a doctor today", "red flag"))
    assert default_words(article) < default_words(calm)


# ----- populations: the asker is the one in the population; other populations' advice stays out --

@pytest.mark.parametrize(
    "question",
    ["my back is killing me can I take my moms valium", "can I borrow my husband's diazepam for a back spasm"],
)
def test_someone_elses_valium_is_answered_as_such(kb: KnowledgeBase, question: str) -> None:
    article = ask(question, audience="patient", kb=kb)
    assert article.answer_type == "someone-elses"
    assert "65 or older" not in article.bottom_line
    assert lower(article.bottom_line).startswith("not unless it is prescribed for you"), article.bottom_line
    assert article.bottom_line_citations


def test_someone_elses_valium_is_not_an_older_adult_question(kb: KnowledgeBase) -> None:
    article = ask("my back is killing me can I take my moms valium", audience="patient", kb=kb)
    assert article.answer_type != "older-adults"
    assert "65 or older" not in article.bottom_line
    asked_for_her = ask("can my mom take valium for her back", audience="patient", kb=kb)
    assert asked_for_her.answer_type == "older-adults"  # the population still counts when it is the person asked about


# phrases of the statements about people aged 65 or older only (a passing mention elsewhere is fine)
OLDER_ADULT_ADVICE = ("65 or older", "advise older adults to avoid", "applies from age 65")


@pytest.mark.parametrize("audience", ["patient", "clinician"])
@pytest.mark.parametrize(
    ("question", "absent"),
    [
        ("im pregnant and my back hurts can i take valium", OLDER_ADULT_ADVICE),
        ("my 16 year old son hurt his back playing football can he take flexeril", OLDER_ADULT_ADVICE),
        ("valium for 17 year old with back spasm", OLDER_ADULT_ADVICE),
        ("I'm 78 and my doctor gave me diazepam for my back, is that ok", ("if you are pregnant", "first trimester")),
    ],
)
def test_no_advice_for_another_population(kb: KnowledgeBase, question: str, absent: tuple[str, ...],
                                          audience: str) -> None:
    article = ask(question, audience=audience, kb=kb)
    shown = lower(default_text(article) + " " + article.bottom_line)
    for words in absent:
        assert words not in shown, f"{words!r} shown for {question!r}"
    # the advice is not lost: it is still in the full answer
    assert article.more


def test_population_lists_name_real_statements(kb: KnowledgeBase) -> None:
    for name, spec in frame_book().raw["populations"].items():
        for statement in spec.get("only", []):
            assert statement in kb.statements, f"populations.{name}.only: unknown statement {statement}"
        for other in spec.get("excludes", []):
            assert other in frame_book().raw["populations"], f"populations.{name}.excludes: unknown {other}"


# ----- the bottom line answers about the drug asked, not another one ----------------------------

@pytest.mark.parametrize("audience", ["patient", "clinician"])
@pytest.mark.parametrize(
    "question",
    ["how long after spinal fusion can I take ibuprofen", "ibuprofen after lumbar fusion - nonunion risk?"],
)
def test_fusion_nsaid_question_is_answered_about_the_nsaid(kb: KnowledgeBase, question: str, audience: str) -> None:
    article = ask(question, audience=audience, kb=kb)
    first = lower(sentences(article.bottom_line)[0])
    assert "diazepam" not in first, article.bottom_line
    assert "nsaid" in first or "anti-inflammatory" in first, article.bottom_line


def test_patient_alcohol_answer_is_in_patient_words(kb: KnowledgeBase) -> None:
    article = ask("can I drink on cyclobenzaprine", audience="patient", kb=kb)
    assert "do not drink alcohol" in lower(article.bottom_line)
    for jargon in ("cns depressant", "carisoprodol", "diazepam and"):
        assert jargon not in lower(article.bottom_line), article.bottom_line
    assert article.bottom_line_citations


@pytest.mark.parametrize(
    ("question", "drug", "med"),
    [
        ("I take sertraline, can I take cyclobenzaprine", "cyclobenzaprine", "sertraline"),
        ("im on lisinopril can i take tizanidine", "tizanidine", "lisinopril"),
        ("already taking cipro, is tizanidine ok", "tizanidine", "ciprofloxacin"),
    ],
)
def test_a_medicine_the_asker_takes_makes_it_an_interaction_question(
    kb: KnowledgeBase, question: str, drug: str, med: str
) -> None:
    article = ask(question, audience="clinician", kb=kb)
    assert article.answer_type == "interaction", article.bottom_line
    result = check({"drug": drug}, {"medications": [med]}, kb=kb)
    codes = {rule.code for rule in kb.interactions}
    worst = min((f.severity for f in result.findings if f.code in codes),
                key=["critical", "warning", "info"].index)
    words = {"critical": ("contraindicated", "avoid"), "warning": ("caution",)}[worst]
    assert any(w in lower(article.bottom_line) for w in words), article.bottom_line


# ----- stopping, ages written in words, temperatures --------------------------------------------

@pytest.mark.parametrize("audience", ["patient", "clinician"])
@pytest.mark.parametrize(
    ("question", "drug"),
    [("what happens if i stop baclofen suddenly", "baclofen"), ("can i stop tizanidine cold turkey", "tizanidine")],
)
def test_stopping_question_is_answered_with_how_to_stop(kb: KnowledgeBase, question: str, drug: str,
                                                        audience: str) -> None:
    article = ask(question, audience=audience, kb=kb)
    assert article.answer_type == "stopping"
    first = lower(sentences(article.bottom_line)[0])
    assert drug in first and ("stop" in first or "decrease" in first), article.bottom_line
    assert "dose range" not in first and "started at a low dose" not in first
    assert article.bottom_line_citations


@pytest.mark.parametrize(
    "question", ["my grandma is 85 can she take tizanidine", "my dad is 79, is valium ok for his back"]
)
def test_an_older_relative_with_an_age_is_an_older_adult_question(kb: KnowledgeBase, question: str) -> None:
    assert ask(question, audience="patient", kb=kb).answer_type == "older-adults"


def test_a_dose_number_is_not_an_age(kb: KnowledgeBase) -> None:
    article = ask("the dose is 80 mg of valium a day, is that too much", audience="patient", kb=kb)
    assert article.answer_type == "max-dose"


@pytest.mark.parametrize(
    ("question", "level"),
    [
        ("my temperature is 39 and my back hurts can i take valium", "same-day"),
        ("back spasm and temp of 102, what should I do", "same-day"),
        ("temp 38 two days after my spinal fusion", "contact-surgical-team"),
    ],
)
def test_a_temperature_written_as_a_number_is_a_fever(kb: KnowledgeBase, question: str, level: str) -> None:
    article = ask(question, audience="patient", kb=kb)
    assert article.urgent is not None and article.urgent.level == level, article.bottom_line


def test_fusion_red_flag_without_a_drug_gets_the_action_only(kb: KnowledgeBase) -> None:
    article = ask("temp 38 two days after my spinal fusion", audience="patient", kb=kb)
    assert article.answer_type == "red-flags"
    assert "surgical team" in lower(sentences(article.bottom_line)[0])
    assert not article.sections  # nothing reads as "manage it at home" under the block


# ----- pregnancy and breastfeeding: the statement for what was asked --------------------------------

@pytest.mark.parametrize("audience", ["patient", "clinician"])
@pytest.mark.parametrize(
    ("question", "expected", "absent"),
    [
        ("can I take valium while breastfeeding", ("breast milk",), ("trimester", "early pregnancy")),
        ("is diazepam safe when nursing my baby", ("breast milk",), ("trimester", "early pregnancy")),
        ("I am 30 weeks pregnant, can I take valium for back spasm", ("late", "newborn"), ("first trimester",)),
        ("can I take ibuprofen while pregnant", ("20 weeks",), ("no checked information", "no reviewed statement")),
    ],
)
def test_pregnancy_answer_fits_what_was_asked(kb: KnowledgeBase, question: str, expected: tuple[str, ...],
                                              absent: tuple[str, ...], audience: str) -> None:
    article = ask(question, audience=audience, kb=kb)
    bottom = lower(article.bottom_line)
    assert any(words in bottom for words in expected), article.bottom_line
    assert not any(words in bottom for words in absent), article.bottom_line
    assert article.bottom_line_citations


@pytest.mark.parametrize("audience", ["patient", "clinician"])
@pytest.mark.parametrize(
    ("question", "drug"),
    [("can i take metaxalone with food", "metaxalone"), ("is carisoprodol a controlled substance", "carisoprodol")],
)
def test_no_recipe_fits_the_bottom_line_is_still_about_the_drug_asked(kb: KnowledgeBase, question: str, drug: str,
                                                                      audience: str) -> None:
    """When no frame recipe fits, the fallback statement is one about the drug asked, not 'most back pain
    improves over time'."""
    article = ask(question, audience=audience, kb=kb)
    assert drug in lower(sentences(article.bottom_line)[0]), article.bottom_line


@pytest.mark.parametrize("audience", ["patient", "clinician"])
@pytest.mark.parametrize(
    "question",
    ["my back hurts and my legs are going numb", "back spasm, my legs feel weak", "cant feel my legs and back pain"],
)
def test_both_legs_numb_or_weak_is_an_emergency(kb: KnowledgeBase, question: str, audience: str) -> None:
    """'my legs are going numb' (plural: both legs) with back pain got 'Start with simple care. A heat wrap'."""
    article = ask(question, audience=audience, kb=kb)
    assert article.urgent is not None and article.urgent.level == "emergency", article.bottom_line
    assert "heat" not in lower(article.bottom_line)


@pytest.mark.parametrize("question", ["no numbness in my legs, back spasm, can I take valium",
                                      "my legs are not numb but my back hurts"])
def test_negated_leg_symptoms_are_no_red_flag(kb: KnowledgeBase, question: str) -> None:
    assert ask(question, audience="patient", kb=kb).urgent is None


@pytest.mark.parametrize("audience", ["patient", "clinician"])
@pytest.mark.parametrize(("drug", "age"), [("cyclobenzaprine", 16), ("methocarbamol", 17), ("baclofen", 13)])
def test_teenager_answer_agrees_with_check_on_the_label_age(kb: KnowledgeBase, drug: str, age: int,
                                                            audience: str) -> None:
    """check applies the label's age limit (adult dosing from 15 for cyclobenzaprine); ask said 'no checked
    information' for the same teenager."""
    result = check(f"{drug} 5 mg tid x 5 days", {"age": age, "sex": "male"}, kb=kb)
    assert any(f.code == "pediatric-dosing" for f in result.findings)
    rule = next(r for r in kb.drugs[drug].pediatric if r.formulation == "oral")
    article = ask(f"can my {age} year old take {drug}", audience=audience, kb=kb)
    assert article.answer_type == "children"
    assert str(rule.adult_dosing_from_age) in article.bottom_line, article.bottom_line
    assert "no checked information" not in lower(article.bottom_line)
    assert article.bottom_line_citations


@pytest.mark.parametrize(
    ("question", "audience", "expected"),
    [
        ("tizanidine dose in renal impairment CrCl 20", "clinician", "creatinine clearance"),
        ("baclofen dose on dialysis", "clinician", "kidney"),
        ("baclofen dose on dialysis", "patient", "kidneys"),
        ("diazepam dose in cirrhosis", "clinician", "hepatic"),
        ("diazepam dose in cirrhosis", "patient", "liver"),
    ],
)
def test_a_dose_question_about_kidney_or_liver_disease_answers_that(kb: KnowledgeBase, question: str,
                                                                    audience: str, expected: str) -> None:
    """'tizanidine dose in renal impairment CrCl 20' was answered with the usual adult dose."""
    article = ask(question, audience=audience, kb=kb)
    assert expected in lower(article.bottom_line), article.bottom_line
    assert article.bottom_line_citations


@pytest.mark.parametrize("audience", ["patient", "clinician"])
@pytest.mark.parametrize(
    "question",
    ["back pain and I cant control my bladder, how much valium can I take",
     "saddle numbness and back pain, can I take flexeril"],
)
def test_an_emergency_is_not_answered_with_a_dose(kb: KnowledgeBase, question: str, audience: str) -> None:
    """'Get emergency care now' followed by 'the usual adult dose of diazepam is 2-10 mg' reads as permission."""
    article = ask(question, audience=audience, kb=kb)
    assert article.urgent is not None and article.urgent.level == "emergency"
    assert article.answer_type == "red-flags"
    assert " mg" not in article.bottom_line and "relaxants" not in lower(article.bottom_line), article.bottom_line
    assert not article.sections and article.more


# ----- a class of drugs as the other side of an interaction question --------------------------------

@pytest.mark.parametrize(
    ("question", "drug", "member", "words"),
    [
        ("can I take valium with opioids", "diazepam", "oxycodone", ("boxed warning", "avoid")),
        ("is it safe to take tizanidine with blood pressure pills", "tizanidine", "lisinopril", ("caution",)),
        ("can I take tizanidine with my blood pressure medicine", "tizanidine", "amlodipine", ("caution",)),
        ("flexeril with an maoi", "cyclobenzaprine", "phenelzine", ("contraindicated",)),
    ],
)
def test_a_class_named_beside_the_drug_is_an_interaction_question(
    kb: KnowledgeBase, question: str, drug: str, member: str, words: tuple[str, ...]
) -> None:
    """'can I take valium with opioids' got 'Diazepam is not a first choice for back spasm'; 'tizanidine with my
    blood pressure medicine' was out of scope although the pack has the rule."""
    article = ask(question, audience="clinician", kb=kb)
    assert article.covered and article.answer_type == "interaction", article.bottom_line
    assert any(w in lower(article.bottom_line) for w in words), article.bottom_line
    assert article.bottom_line_citations
    # the class verdict is the one check gives for a member of the class
    result = check({"drug": drug}, {"medications": [member]}, kb=kb)
    codes = {rule.code for rule in kb.interactions}
    worst = min((f.severity for f in result.findings if f.code in codes), key=["critical", "warning", "info"].index)
    expected = {"critical": ("contraindicated", "avoid"), "warning": ("caution",)}[worst]
    assert any(w in lower(article.bottom_line) for w in expected)


def test_a_class_with_no_class_rule_is_answered_honestly(kb: KnowledgeBase) -> None:
    article = ask("can i take flexeril with an nsaid", audience="patient", kb=kb)
    assert article.answer_type == "interaction"
    assert "does not mean it is safe" in lower(article.bottom_line)


@pytest.mark.parametrize(
    ("question", "why"),
    [
        ("can i take valium and norco together", "breathing"),
        ("can I take valium with opioids", "breathing"),
        ("cyclobenzaprine and ssris", "antidepressants"),
    ],
)
def test_patient_interaction_answer_says_why_in_patient_words(kb: KnowledgeBase, question: str, why: str) -> None:
    """A patient gets the verdict and the reason from a patient statement about the same pair or class, never
    the clinician rule text ('profound sedation, respiratory depression')."""
    article = ask(question, audience="patient", kb=kb)
    assert why in lower(article.bottom_line), article.bottom_line
    assert "respiratory depression" not in lower(article.bottom_line)
    assert "cns" not in lower(article.bottom_line)


@pytest.mark.parametrize("audience", ["patient", "clinician"])
def test_driving_question_without_a_drug_reads_as_english(kb: KnowledgeBase, audience: str) -> None:
    """'We have no checked information on driving with these medicines itself; its side effects ...'."""
    article = ask("how long after my fusion can i drive", audience=audience, kb=kb)
    assert "these medicines itself" not in article.bottom_line and "its side effects" not in article.bottom_line
    assert "surgical team" in lower(article.bottom_line)


@pytest.mark.parametrize("audience", ["patient", "clinician"])
@pytest.mark.parametrize(
    "question", ["can I drive after taking methocarbamol", "I am 80, can I take flexeril", "is methocarbamol addictive"]
)
def test_the_older_adult_advice_is_said_once(kb: KnowledgeBase, question: str, audience: str) -> None:
    """'If you are 65 or older, experts advise avoiding most muscle relaxants' and 'If you are 65 or older, most
    muscle relaxants are best avoided' in the same answer."""
    group = set(frame_book().raw["same_point"][0])
    article = ask(question, audience=audience, kb=kb)
    shown = [i.statement for s in article.sections for i in s.items if i.statement in group]
    bottom = lower(article.bottom_line)
    in_bottom = any(lower(kb.statements[sid].patient or "")[:40] in bottom
                    or lower(kb.statements[sid].clinician)[:40] in bottom for sid in group)
    assert len(shown) + int(in_bottom) <= 1, (shown, article.bottom_line)


def test_interaction_reason_is_not_another_populations_advice(kb: KnowledgeBase) -> None:
    article = ask("can i take flexerel and valum together", audience="patient", kb=kb)
    assert article.answer_type == "interaction"
    assert "65 or older" not in article.bottom_line, article.bottom_line
    older = ask("im 75, can i take flexeril and valium together", audience="patient", kb=kb)
    assert "65 or older" in older.bottom_line  # for an older asker it is the point
