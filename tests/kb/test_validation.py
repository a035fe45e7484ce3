"""Broken packs fail validation with a message naming the file, the item and the field."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from clinguide.cli import app
from clinguide.kb.loader import PACK_DIR, PackError, load
from clinguide.kb.validate import validate_pack

runner = CliRunner()


def _edit(pack: Path, rel: str, key: str, change: Callable[[list[dict]], None]) -> None:
    path = pack / rel
    doc = yaml.safe_load(path.read_text())
    change(doc[key])
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def _statement(items: list[dict], statement_id: str) -> dict:
    return next(s for s in items if s["id"] == statement_id)


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(PACK_DIR, target)
    return target


def _first_statement_file(pack: Path) -> tuple[str, str]:
    rel = sorted(str(p.relative_to(pack)) for p in (pack / "statements").glob("*.yaml"))[0]
    first = yaml.safe_load((pack / rel).read_text())["statements"][0]["id"]
    return rel, first


def _problems(pack: Path) -> list[str]:
    return [str(p) for p in validate_pack(pack)]


def test_unknown_source_id(pack):
    rel, sid = _first_statement_file(pack)
    _edit(pack, rel, "statements", lambda items: _statement(items, sid)["sources"].append("S999"))
    assert any(rel in p and sid in p and "sources" in p and "S999" in p for p in _problems(pack))


def test_unused_source(pack):
    _edit(pack, "sources.yaml", "sources", lambda items: items.append({**items[0], "id": "S94z"}))
    assert any("S94z" in p and "never cited" in p for p in _problems(pack))


def test_duplicate_id(pack):
    rel, sid = _first_statement_file(pack)
    _edit(pack, rel, "statements", lambda items: items.append(dict(_statement(items, sid))))
    assert any(sid in p and "duplicate id" in p for p in _problems(pack))


def test_colliding_synonym_across_drugs(pack):
    _edit(pack, "drugs/baclofen.yaml", "drugs", lambda items: items[0]["synonyms"].append("Valium"))
    assert any("'valium'" in p and "baclofen" in p and "diazepam" in p for p in _problems(pack))


def test_min_greater_than_max(pack):
    def swap(items: list[dict]) -> None:
        rule = items[0]["dosing"][0]
        rule["single_dose_mg"] = {"min": 20, "max": 2}

    _edit(pack, "drugs/diazepam.yaml", "drugs", swap)
    assert any(
        "drugs/diazepam.yaml" in p and "single_dose_mg" in p and "greater than max" in p for p in _problems(pack)
    )


def test_statement_without_sources(pack):
    rel, sid = _first_statement_file(pack)
    _edit(pack, rel, "statements", lambda items: _statement(items, sid).update(sources=[], origin=[]))
    assert any(sid in p and "sources" in p for p in _problems(pack))


# ----- seeds are provenance, not evidence (issue 12, item 8) ---------------------------------


def test_seed_cited_as_a_source_is_refused(pack):
    rel, sid = _first_statement_file(pack)
    _edit(pack, rel, "statements", lambda items: _statement(items, sid)["sources"].append("SEED000"))
    assert any(sid in p and "SEED000 is a seed document, not evidence" in p for p in _problems(pack))


def test_a_real_source_under_origin_is_refused(pack):
    rel, sid = _first_statement_file(pack)
    _edit(pack, rel, "statements", lambda items: _statement(items, sid).update(origin=["S01"]))
    assert any(sid in p and "'origin' is for seed documents" in p for p in _problems(pack))


def test_editorial_statement_cannot_be_a_bottom_line(pack):
    rel, sid = _first_statement_file(pack)
    _edit(pack, rel, "statements", lambda items: _statement(items, sid).update(sources=[], origin=["SEED000"],
                                                                                key=True))
    assert any(sid in p and "cannot be a bottom line" in p for p in _problems(pack))


def test_a_finding_rule_resting_on_a_seed_alone_is_refused(pack):
    def seed_only(items):
        rule = items[0]["condition_rules"][0]
        rule["sources"], rule["origin"] = [], ["SEED000"]

    _edit(pack, "drugs/diazepam.yaml", "drugs", seed_only)
    assert any("diazepam" in p and "condition_rules.0" in p and "no cited source" in p for p in _problems(pack))


def test_citing_a_superseded_reproduction_is_refused(pack):
    rel, sid = _first_statement_file(pack)
    _edit(pack, rel, "statements", lambda items: _statement(items, sid)["sources"].append("S04"))
    assert any("S04" in p and "superseded by S95" in p for p in _problems(pack))


def test_shipped_pack_cites_no_seed_and_no_superseded_source():
    from clinguide.kb import shipped_kb

    kb = shipped_kb()
    seeds = {s for s, src in kb.sources.items() if src.kind == "seed-document"}
    superseded = {s for s, src in kb.sources.items() if src.superseded_by}
    assert seeds and superseded >= {"S04", "S08", "S09", "S11", "S12", "S17", "S18", "S20", "S23", "S25", "S31",
                                    "S32", "S80"}
    cited = {s for st in kb.statements.values() for s in st.sources}
    assert not cited & (seeds | superseded)
    assert all(not st.key for st in kb.statements.values() if st.editorial)


def test_patient_facing_statement_without_patient_text(pack):
    rel, sid = _first_statement_file(pack)
    _edit(pack, rel, "statements", lambda items: _statement(items, sid).update(audience="both", patient=None))
    assert any(sid in p and "patient text" in p for p in _problems(pack))


def test_dose_typed_outside_a_placeholder(pack):
    rel, sid = _first_statement_file(pack)
    _edit(
        pack, rel, "statements",
        lambda items: _statement(items, sid).update(clinician="Give 7 mg three times a day.", literal_numbers=None),
    )  # fmt: skip
    assert any(sid in p and "clinician" in p and "outside a placeholder" in p for p in _problems(pack))


def test_placeholder_naming_a_missing_drug(pack):
    rel, sid = _first_statement_file(pack)
    _edit(
        pack, rel, "statements", lambda items: _statement(items, sid).update(clinician="Dose {dose:unobtainium:adult}.")
    )
    assert any(sid in p and "unobtainium" in p for p in _problems(pack))


def test_unknown_field_is_refused(pack):
    _edit(pack, "drugs/diazepam.yaml", "drugs", lambda items: items[0].update(maximum_dose=40))
    assert any("diazepam" in p and "maximum_dose" in p for p in _problems(pack))


def test_invalid_yaml_names_the_file(pack):
    (pack / "conditions.yaml").write_text("conditions: [unclosed\n")
    assert any(p.startswith("conditions.yaml") and "not valid YAML" in p for p in _problems(pack))


def test_strict_load_raises_with_all_problems(pack):
    _edit(pack, "drugs/baclofen.yaml", "drugs", lambda items: items[0]["synonyms"].append("Valium"))
    with pytest.raises(PackError) as info:
        load(pack)
    assert "valium" in str(info.value)


def test_cli_validate_exit_2_with_file_item_and_field(pack):
    _edit(pack, "drugs/diazepam.yaml", "drugs", lambda items: items[0].update(maximum_dose=40))
    result = runner.invoke(app, ["kb", "validate", "--pack", str(pack)])
    assert result.exit_code == 2
    assert "drugs/diazepam.yaml: diazepam: maximum_dose" in result.output


def test_not_approved_items_are_not_served(pack):
    rel, sid = _first_statement_file(pack)
    _edit(pack, rel, "statements", lambda items: _statement(items, sid)["review"].update(status="submitted"))
    kb = load(pack, strict=False)
    assert sid not in kb.statements


def test_word_split_by_line_folding(pack):
    rel, sid = _first_statement_file(pack)
    _edit(pack, rel, "statements",
          lambda items: _statement(items, sid).update(patient="Try an anti- inflammatory pain reliever."))
    assert any(sid in p and "anti- inflammatory" in p and "line folding" in p for p in _problems(pack))
