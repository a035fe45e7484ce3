"""Name lookup: generic, brand, misspelling, case, strength, combination products; and `kb show`."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from clinguide.cli import app
from clinguide.kb import shipped_kb

runner = CliRunner()


@pytest.fixture(scope="module")
def kb():
    return shipped_kb()


@pytest.mark.parametrize(
    ("text", "drug"),
    [
        ("diazepam", "diazepam"),
        ("Valium", "diazepam"),
        ("VALIUM", "diazepam"),
        ("valum", "diazepam"),
        ("diazapam", "diazepam"),
        ("Valium 10 mg", "diazepam"),
        ("Flexeril", "cyclobenzaprine"),
        ("flexiril", "cyclobenzaprine"),
        ("Zanaflex", "tizanidine"),
        ("Robaxin", "methocarbamol"),
        ("Skelaxin", "metaxalone"),
        ("Soma", "carisoprodol"),
        ("Lioresal", "baclofen"),
        ("OxyContin", "oxycodone"),
        ("Norco", "hydrocodone-acetaminophen"),
        ("Norco 5/325", "hydrocodone-acetaminophen"),
        ("Percocet", "oxycodone-acetaminophen"),
        ("beer", "alcohol"),
    ],
)
def test_drug_names_resolve(kb, text, drug):
    match = kb.resolve_drug(text)
    assert match is not None and match.id == drug


def test_combination_products_carry_their_components_classes(kb):
    assert "opioid" in kb.drug_classes("hydrocodone-acetaminophen")
    assert set(kb.ingredients("oxycodone-acetaminophen")) == {"oxycodone", "acetaminophen"}


@pytest.mark.parametrize("text", ["tylenol", "aspirinx", "xyz", "", "   ", "10 mg"])
def test_unknown_or_ambiguous_names_do_not_resolve_to_a_wrong_drug(kb, text):
    match = kb.resolve_drug(text)
    assert match is None or match.id not in ("codeine-acetaminophen",)


@pytest.mark.parametrize(
    ("text", "condition"),
    [
        ("OSA", "sleep-apnea"),
        ("cirrhosis", "hepatic-impairment"),
        ("Myasthenia Gravis", "myasthenia-gravis"),
        ("COPD", "copd"),
    ],
)
def test_condition_names_resolve(kb, text, condition):
    assert kb.resolve_condition(text).id == condition


def test_severe_hepatic_impairment_implies_hepatic_impairment(kb):
    assert "hepatic-impairment" in kb.expand_conditions(["severe-hepatic-impairment"])


def test_kb_show_valium_shows_adult_and_older_adult_dosing_with_sources():
    result = runner.invoke(app, ["kb", "show", "valium"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "diazepam" in out.lower()
    assert "adult" in out and "older-adult" in out
    assert "S01" in out or "S02" in out


@pytest.mark.parametrize("name", ["valum", "Flexeril"])
def test_kb_show_by_misspelling_and_brand(name):
    result = runner.invoke(app, ["kb", "show", name, "--format", "json"])
    assert result.exit_code == 0, result.output


def test_kb_show_unknown_exits_2():
    result = runner.invoke(app, ["kb", "show", "unobtainium"])
    assert result.exit_code == 2
    assert "not a drug, condition or therapy" in result.output
