"""Clinical policy and finding wording are pack data: validation guards them, the engine reads them."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest
import yaml

from clinguide.checks.engine import check
from clinguide.fhir import build_patient
from clinguide.kb import get_kb
from clinguide.kb.loader import PACK_DIR, load
from clinguide.kb.validate import validate_pack


@pytest.fixture
def pack(tmp_path: Path) -> Path:
    target = tmp_path / "pack"
    shutil.copytree(PACK_DIR, target)
    return target


def _edit_findings(pack: Path, change) -> None:
    path = pack / "findings.yaml"
    doc = yaml.safe_load(path.read_text())
    change({e["id"]: e for e in doc["findings"]}, doc["findings"])
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def _problems(pack: Path) -> list[str]:
    return [str(p) for p in validate_pack(pack)]


def test_shipped_wording_is_valid():
    assert not [p for p in _problems(PACK_DIR) if p.startswith("findings.yaml")]


def test_unknown_field_in_a_template_is_a_pack_error(pack):
    _edit_findings(pack, lambda by_id, _: by_id["duration.exceeds-limit"].update(
        detail="{days} days ordered; the limit is {limt_days} days."))
    problems = _problems(pack)
    assert any("duration.exceeds-limit" in p and "limt_days" in p for p in problems), problems


def test_missing_template_is_a_pack_error(pack):
    _edit_findings(pack, lambda _, items: items.remove(next(e for e in items if e["id"] == "dose.daily-above-max")))
    problems = _problems(pack)
    assert any("dose.daily-above-max" in p and "missing" in p for p in problems), problems


def test_missing_part_and_unused_template_are_pack_errors(pack):
    def change(by_id, items):
        del by_id["taper.needed"]["suggestion"], by_id["taper.needed"]["title"]
        items.append({"id": "dose.nobody-uses-this", "text": "words"})

    _edit_findings(pack, change)
    problems = _problems(pack)
    assert any("taper.needed" in p and "title" in p for p in problems), problems
    assert any("dose.nobody-uses-this" in p and "not used" in p for p in problems), problems


def test_changing_the_wording_changes_the_finding_only_through_data(pack):
    _edit_findings(pack, lambda by_id, _: by_id["duration.exceeds-limit"].update(title="Course too long"))
    kb = load(pack, strict=True)
    result = check({"sig": "diazepam 5 mg tid x 30 days"}, {"age": 40}, kb=kb)
    assert "Course too long" in [f.title for f in result.findings]


def test_policy_course_above_the_drug_limit_is_a_pack_error(pack):
    path = pack / "policy.yaml"
    path.write_text(path.read_text().replace("diazepam_max_days: 14", "diazepam_max_days: 21"))
    problems = _problems(pack)
    assert any("diazepam_max_days" in p and "duration limit" in p for p in problems), problems


def test_spinal_fusion_is_read_from_the_pack_term_list():
    kb = get_kb()
    now = dt.datetime(2026, 1, 10, tzinfo=dt.UTC)
    procedure = {"resourceType": "Procedure", "status": "completed", "performedDateTime": "2026-01-09T10:00:00Z",
                 "code": {"text": "Posterior lumbar arthrodesis L4-L5"}}
    other = {**procedure, "code": {"text": "Knee arthroscopy"}}
    assert build_patient({"Procedure": [procedure]}, kb, now).case.setting == "post-spinal-fusion"
    assert build_patient({"Procedure": [other]}, kb, now).case.setting != "post-spinal-fusion"
    provenance = kb.policy.procedures[0].provenance
    assert "no procedure codes" in provenance
