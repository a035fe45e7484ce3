"""The public CDC opioid-cds Recommendation 11 requests and clinguide's shipped examples, on the real pack."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from clinguide.service.app import create_app
from clinguide.service.cds.security import REPLAY

from .conftest import INTEROP, NOW, load_json
from .test_cds_hooks import assert_spec_shape

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples" / "cds"
# README table of ../shared/interop: which requests expect the opioid + benzodiazepine card
EXPECTED = {
    "benzo-trigger-with-opioid": True,
    "benzo-trigger-without-opioid": False,
    "opioid-trigger-with-benzo": True,
    "opioid-trigger-without-benzo": False,
    "patient-view-benzo-trigger-with-opioid": True,
    "patient-view-benzo-trigger-without-opioid": False,
    "patient-view-opioid-trigger-with-benzo": True,
    "patient-view-opioid-trigger-without-benzo": False,
}
SERVICE = {"order-select": "clinguide-order-select", "order-sign": "clinguide-order-sign",
           "patient-view": "clinguide-patient-view"}


@pytest.fixture(scope="module")
def client() -> TestClient:
    from clinguide.kb import get_kb

    get_kb()  # a shipped pack that does not load fails these tests (never a skip)
    mp = pytest.MonkeyPatch()
    mp.setenv("CLINGUIDE_CDS_ALLOW_UNSIGNED", "1")
    REPLAY.clear()
    yield TestClient(create_app(now=NOW))
    mp.undo()


CASES = [(year, name) for year in ("2016", "2022") for name in EXPECTED]


@pytest.mark.skipif(
    not INTEROP.is_dir() and not os.environ.get("CI"), reason=f"shared interop data not present at {INTEROP}"
)
@pytest.mark.parametrize(("year", "name"), CASES, ids=[f"{y}-{n}" for y, n in CASES])
def test_rec11_requests(client: TestClient, year: str, name: str) -> None:
    request = load_json(INTEROP / f"requests-{year}" / f"request-example-rec-11-{name}.json")
    response = client.post(f"/cds-services/{SERVICE[request['hook']]}", json=request)
    assert response.status_code == 200, response.text
    data = response.json()
    assert_spec_shape(data)
    opioid_benzo = [c for c in data["cards"] if c["source"]["topic"]["code"] == "opioid-benzodiazepine"]
    critical = [c for c in data["cards"] if c["indicator"] == "critical"]
    if EXPECTED[name]:
        assert len(opioid_benzo) == 1 and opioid_benzo[0]["indicator"] == "critical"
        assert critical == opioid_benzo
    else:
        assert opioid_benzo == [] and critical == []


def _post(client: TestClient, name: str) -> dict[str, Any]:
    response = client.post("/cds-services/clinguide-order-sign", json=load_json(EXAMPLES / name))
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    assert_spec_shape(data)
    return data


def test_example_diazepam_with_active_oxycodone(client: TestClient) -> None:
    data = _post(client, "order-sign-diazepam-with-oxycodone.json")
    card = data["cards"][0]
    assert card["indicator"] == "critical" and card["source"]["topic"]["code"] == "opioid-benzodiazepine"
    assert card["suggestions"][0]["actions"][0] == {
        "type": "delete", "description": "Remove the draft order", "resourceId": "MedicationRequest/draft-diazepam"}


def test_example_diazepam_after_spinal_fusion_suggests_baclofen(client: TestClient) -> None:
    data = _post(client, "order-sign-diazepam-after-spinal-fusion.json")
    card = next(c for c in data["cards"] if c["source"]["topic"]["code"] == "not-recommended-setting")
    delete, create = card["suggestions"][0]["actions"]
    assert delete == {"type": "delete", "description": "Remove the draft order",
                      "resourceId": "MedicationRequest/draft-diazepam"}
    assert create["type"] == "create"
    assert create["resource"]["medicationCodeableConcept"]["text"].lower() == "baclofen"
    assert create["resource"]["subject"] == {"reference": "Patient/example-post-fusion"}


def test_example_diazepam_with_a_referenced_code_only_combination_opioid(client: TestClient) -> None:
    """Percocet as MedicationRequest -> Medication (code only, acetaminophen sorts first) in one searchset."""
    data = _post(client, "order-sign-diazepam-with-percocet-reference.json")
    card = data["cards"][0]
    assert card["indicator"] == "critical" and card["source"]["topic"]["code"] == "opioid-benzodiazepine"
    assert "oxycodone" in card["detail"]
