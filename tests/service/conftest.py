from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clinguide.kb import provider
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.loader import load
from clinguide.service.app import create_app
from clinguide.service.cds.security import REPLAY

MINIPACK = Path(__file__).resolve().parent.parent / "fixtures" / "minipack"
DATA = Path(__file__).resolve().parent.parent / "data" / "cds"
# shared/ sits beside the repository (CI clones main with ../shared next to it).
SHARED = Path(os.environ.get("CLINGUIDE_SHARED_DIR") or Path(__file__).resolve().parents[2].parent / "shared")
INTEROP = SHARED / "interop" / "opioid-cds-rec11"
NOW = dt.datetime(2023, 5, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def minikb() -> KnowledgeBase:
    return load(MINIPACK)


@pytest.fixture()
def unsigned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINGUIDE_CDS_ALLOW_UNSIGNED", "1")


@pytest.fixture()
def mini_client(minikb: KnowledgeBase, unsigned: None) -> Iterator[TestClient]:
    """The app serving the test mini-pack, unsigned local CDS calls allowed, now = 2023-05-01."""
    provider.set_provider(lambda: minikb)
    REPLAY.clear()
    try:
        yield TestClient(create_app(now=NOW), raise_server_exceptions=False)
    finally:
        provider.set_provider(None)


def med(rid: str, text: str, *, code: str | None = None, status: str = "active", dose_mg: float | None = None,
        per_day: int | None = None, days: int | None = None, prn: bool = False) -> dict[str, Any]:
    """A MedicationRequest built the way EHRs send them."""
    concept: dict[str, Any] = {"text": text}
    if code:
        concept["coding"] = [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": code, "display": text}]
    resource: dict[str, Any] = {
        "resourceType": "MedicationRequest", "id": rid, "status": status, "intent": "order",
        "medicationCodeableConcept": concept, "subject": {"reference": "Patient/p1"},
    }
    dosage: dict[str, Any] = {"asNeededBoolean": prn}
    if dose_mg is not None:
        dosage["doseAndRate"] = [{"doseQuantity": {"value": dose_mg, "unit": "mg", "system": "http://unitsofmeasure.org",
                                                   "code": "mg"}}]
    if per_day is not None:
        dosage["timing"] = {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}}
    resource["dosageInstruction"] = [dosage]
    if days is not None:
        resource["dispenseRequest"] = {"expectedSupplyDuration": {"value": days, "unit": "days",
                                                                  "system": "http://unitsofmeasure.org", "code": "d"}}
    return resource


def bundle(*resources: dict[str, Any], kind: str = "searchset") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def patient(birth: str = "1980-01-01", gender: str = "female") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p1", "birthDate": birth, "gender": gender}


def hook_request(hook: str, drafts: list[dict[str, Any]] | None = None, prefetch: dict[str, Any] | None = None,
                 **extra: Any) -> dict[str, Any]:
    context: dict[str, Any] = {"userId": "Practitioner/example", "patientId": "p1"}
    if drafts is not None:
        context["draftOrders"] = bundle(*drafts, kind="collection")
        if hook == "order-select":
            context["selections"] = [f"MedicationRequest/{drafts[0]['id']}"]
    body: dict[str, Any] = {"hook": hook, "hookInstance": "7f1c3a52-93b4-4b8e-9d6c-3c1a1e0b9f10", "context": context}
    if prefetch is not None:
        body["prefetch"] = prefetch
    body.update(extra)
    return body


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def real_client() -> Iterator[TestClient]:
    """The app serving the shipped pack (a pack that does not load fails), unsigned local calls allowed."""
    from clinguide.kb import get_kb

    get_kb()
    mp = pytest.MonkeyPatch()
    mp.setenv("CLINGUIDE_CDS_ALLOW_UNSIGNED", "1")
    REPLAY.clear()
    yield TestClient(create_app(now=NOW), raise_server_exceptions=False)
    mp.undo()
