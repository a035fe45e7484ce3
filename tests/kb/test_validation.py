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
    _edit(pack, rel, "statements", lambda items: _statement(items, sid).update(sources=[]))
    assert any(sid in p and "sources" in p for p in _problems(pack))


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
