"""The shipped knowledge pack: it validates, it is complete, and its numbers match the clinical reference."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from clinguide.cli import app
from clinguide.kb import shipped_kb
from clinguide.kb.validate import validate_pack

runner = CliRunner()


@pytest.fixture(scope="module")
def kb():
    return shipped_kb()


def test_shipped_pack_validates():
    assert validate_pack() == []


def test_cli_validate_exit_0():
    result = runner.invoke(app, ["kb", "validate"])
    assert result.exit_code == 0, result.output
    assert "is valid" in result.output


def test_stats_meet_the_issue_minimums():
    result = runner.invoke(app, ["kb", "stats", "--format", "json"])
    assert result.exit_code == 0
    stats = json.loads(result.output)
    assert stats["statements"] >= 60
    assert stats["monographs"] >= 15
    assert stats["sources"] >= 30
    assert stats["plans"] == 8


MONOGRAPHS = [
    "diazepam", "cyclobenzaprine", "tizanidine", "baclofen", "methocarbamol", "metaxalone", "carisoprodol",
    "orphenadrine", "chlorzoxazone", "ibuprofen", "naproxen", "celecoxib", "acetaminophen", "gabapentin", "pregabalin",
]  # fmt: skip


def test_every_required_monograph_exists(kb):
    for drug_id in MONOGRAPHS:
        assert kb.drugs[drug_id].role == "monograph"


def test_every_reference_source_is_in_the_pack(kb):
    expected = {f"S{n:02d}" for n in range(1, 95)} | {"S52a", "S53a"}
    assert expected <= set(kb.sources)
    seeds = {s for s in kb.sources if s.startswith("SEED")}
    assert seeds == {f"SEED00{n}" for n in range(5)}
    # issue 12: seeds are AI-written summaries, recorded as origin, never cited as evidence
    assert all(kb.sources[s].kind == "seed-document" for s in seeds)


def test_every_item_is_reviewed_and_dated(kb):
    items = [*kb.sources.values(), *kb.drugs.values(), *kb.conditions.values(), *kb.therapies.values(),
             *kb.statements.values(), *kb.plans.values(), *kb.interactions, kb.policy]  # fmt: skip
    for item in items:
        assert item.review.status == "approved" and item.review.last_reviewed is not None


def test_cns_depressant_class_includes_relaxants_and_gabapentinoids_unlike_the_cdc_value_set(kb):
    for drug_id in ("cyclobenzaprine", "carisoprodol", "tizanidine", "baclofen", "gabapentin", "pregabalin"):
        assert "cns-depressant" in kb.drug_classes(drug_id), drug_id


# Numbers from clinical-reference.md §1.12 and §2 (drug, population, field, value).
REFERENCE_NUMBERS = [
    ("diazepam", "adult", "single", (2, 10)),
    ("diazepam", "adult", "per_day", (3, 4)),
    ("diazepam", "adult", "daily", 40),
    ("diazepam", "older-adult", "single", (2, 2.5)),
    ("diazepam", "older-adult", "per_day", (1, 2)),
    ("cyclobenzaprine", "adult", "daily", 30),
    ("tizanidine", "adult", "daily", 36),
    ("baclofen", "adult", "daily", 80),
    ("carisoprodol", "adult", "daily", 1400),
    ("orphenadrine", "adult", "daily", 200),
    ("chlorzoxazone", "adult", "daily", 3000),
    ("metaxalone", "adult", "daily", 3200),
    ("methocarbamol", "adult", "daily", 8000),
    ("acetaminophen", "adult", "daily", 4000),
    ("ibuprofen", "adult", "daily", 3200),
]


@pytest.mark.parametrize(("drug", "population", "field", "value"), REFERENCE_NUMBERS)
def test_numbers_match_the_clinical_reference(kb, drug, population, field, value):
    rule = kb.dosing(drug, population)
    assert rule is not None
    if field == "single":
        assert (rule.single_dose_mg.min, rule.single_dose_mg.max) == value
    elif field == "per_day":
        assert (rule.doses_per_day.min, rule.doses_per_day.max) == value
    else:
        assert rule.max_daily_mg == value


def test_diazepam_daily_limit_is_marked_as_top_of_labelled_range(kb):
    assert kb.dosing("diazepam", "adult").max_daily_basis == "top-of-labelled-range"


def test_duration_limits_match_the_reference(kb):
    assert kb.drugs["cyclobenzaprine"].duration_limit.days == 21
    assert kb.drugs["carisoprodol"].duration_limit.days == 21
    assert kb.drugs["diazepam"].duration_limit.days <= 14
    assert kb.policy.older_adult_min_age == 65


def test_unverified_rxnorm_codes_are_marked_and_never_used_for_matching(kb):
    assert kb.drugs["diazepam"].rxnorm.code == "3322" and kb.drugs["diazepam"].rxnorm.verified
    # cyclobenzaprine 21949 was believed only; the US Core RxNorm ingredient list (VS05) now verifies it
    assert kb.drugs["cyclobenzaprine"].rxnorm.verified and kb.drugs["cyclobenzaprine"].rxnorm.sources == ["VS05"]
    assert kb.drugs_by_rxnorm("21949") == ("cyclobenzaprine",)
    for drug in kb.drugs.values():
        if drug.rxnorm and not drug.rxnorm.verified:
            assert drug.id not in kb.drugs_by_rxnorm(drug.rxnorm.code)
        if drug.rxnorm and drug.rxnorm.verified:
            assert drug.rxnorm.sources, drug.id


def test_value_set_product_codes_resolve(kb):
    for code in ("197589", "197590", "197591", "104699", "104700", "104701"):
        assert kb.drugs_by_rxnorm(code) == ("diazepam",)
    assert kb.drugs_by_rxnorm("1298088") == ("flurazepam",)
    assert "oxycodone" in kb.drugs_by_rxnorm("1049502")


def test_every_number_in_a_statement_comes_from_a_placeholder_or_is_explained(kb):
    from clinguide.kb.placeholders import LITERAL_DOSE, PLACEHOLDER

    for statement in kb.statements.values():
        for text in (statement.clinician, statement.patient or ""):
            if LITERAL_DOSE.search(PLACEHOLDER.sub("", text)):
                assert statement.literal_numbers, statement.id


def test_seed_and_reference_disagreement_on_diazepam_dose_is_shown_with_both_sources(kb):
    both = [
        s for s in kb.statements.values()
        if "diazepam" in s.drugs and "SEED000" in s.origin and ({"S01", "S02"} & set(s.sources))
        and s.section == "dosing"
    ]  # fmt: skip
    assert both, "a dosing statement must show seed 000's figure beside the label's"
