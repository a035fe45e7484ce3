"""The per-worker result memo (service/memo.py) never changes an answer; card ids stay per hook call."""

from __future__ import annotations

import random
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from clinguide.kb import provider
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.kb.loader import load
from clinguide.service.app import create_app
from clinguide.service.cds.security import REPLAY

from .conftest import MINIPACK, NOW, bundle, hook_request, med, patient

SELECT, SIGN, VIEW = "clinguide-order-select", "clinguide-order-sign", "clinguide-patient-view"


@pytest.fixture()
def clients(minikb: KnowledgeBase, unsigned: None, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, Any]]:
    """(memo on, memo off): two apps serving the mini-pack, now pinned."""
    provider.set_provider(lambda: minikb)
    REPLAY.clear()
    on = TestClient(create_app(now=NOW), raise_server_exceptions=False)
    monkeypatch.setenv("CLINGUIDE_RESULT_CACHE_SIZE", "0")
    off = TestClient(create_app(now=NOW), raise_server_exceptions=False)
    monkeypatch.delenv("CLINGUIDE_RESULT_CACHE_SIZE")
    try:
        yield on, off
    finally:
        provider.set_provider(None)


DRUGS = [("Calmazepam", "99901"), ("Painocodone", None), ("Spasmolin", None), ("Sleepazolam", None),
         ("Paincombo", None), ("Moodline", None), ("Unknownium", None), ("Calmium", None)]


def _draft(rng: random.Random, rid: str, status: str = "draft") -> dict[str, Any]:
    name, code = rng.choice(DRUGS)
    return med(rid, name, code=code if rng.random() < 0.7 else None, status=status,
               dose_mg=rng.choice([None, 2, 5, 10, 40]), per_day=rng.choice([None, 1, 3, 4, 6]),
               days=rng.choice([None, 3, 14, 30]), prn=rng.random() < 0.2)


def varied_requests(n: int, seed: int = 14) -> list[tuple[str, dict[str, Any]]]:
    """Hook calls over the three hooks: ages, drafts, record, procedures, conditions and key order vary."""
    rng = random.Random(seed)
    out: list[tuple[str, dict[str, Any]]] = []
    for _ in range(n):
        service, hook = rng.choice([(SIGN, "order-sign"), (SELECT, "order-select"), (VIEW, "patient-view")])
        born = f"{rng.choice([1930, 1950, 1980, 2010])}-0{rng.randint(1, 9)}-15"
        prefetch: dict[str, Any] = {"patient": patient(born, rng.choice(["female", "male"]))}
        if rng.random() < 0.8:
            prefetch["medications"] = bundle(*(_draft(rng, f"rx{j}", "active") for j in range(rng.randint(0, 3))))
        if rng.random() < 0.4:
            prefetch["conditions"] = bundle({
                "resourceType": "Condition", "id": "c1", "subject": {"reference": "Patient/p1"},
                "code": {"text": rng.choice(["Sleep apnoea", "Myasthenia gravis", "Gout"])}})
        if rng.random() < 0.3:
            prefetch["procedures"] = bundle({
                "resourceType": "Procedure", "id": "pr", "status": "completed", "subject": {"reference": "Patient/p1"},
                "code": {"text": "Lumbar spinal fusion"}, "performedDateTime": f"2023-04-{rng.randint(20, 30)}"})
        drafts = None if hook == "patient-view" else [_draft(rng, f"d{j}") for j in range(rng.randint(1, 2))]
        body = hook_request(hook, drafts, prefetch=prefetch, hookInstance=str(uuid.UUID(int=rng.getrandbits(128))))
        if hook == "patient-view":
            body["context"].pop("draftOrders", None)
        if rng.random() < 0.2:  # the same members in another order
            body = dict(reversed(list(body.items())))
        out.append((service, body))
        if rng.random() < 0.3:  # a near twin: the same patient, one number changed, a new hook call
            twin = {**body, "hookInstance": str(uuid.UUID(int=rng.getrandbits(128))),
                    "prefetch": {**prefetch, "patient": patient("1931-01-01")}}
            out.append((service, twin))
    return out


def _check_bodies(n: int, seed: int = 7) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        name = rng.choice(["calmazepam", "spasmolin", "sleepazolam", "painocodone", "nolimitol"])
        order = {"sig": f"{name} {rng.choice([1, 5, 10, 20])} mg PO {rng.choice(['daily', 'TID', 'QID'])} "
                        f"x {rng.choice([3, 14, 28])} days"}
        case = {"age": rng.choice([30, 70, 90]), "medications": rng.sample(["painocodone", "alcohol", "moodline"],
                                                                          rng.randint(0, 2))}
        out.append({"order": order, "case": case} if rng.random() < 0.8 else {"order": order})
    return out


def _same_answers(on: TestClient, off: TestClient, requests: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
    answers = []
    for service, body in requests:
        first = on.post(f"/cds-services/{service}", json=body)
        again = on.post(f"/cds-services/{service}", json=body)  # from the memo
        plain = off.post(f"/cds-services/{service}", json=body)
        assert first.status_code == plain.status_code == 200, plain.text[:300]
        assert first.content == again.content == plain.content
        assert first.headers["content-type"] == plain.headers["content-type"]
        answers.append(plain.content)
    return answers


def test_memo_never_changes_a_hook_answer(clients: tuple[TestClient, TestClient], tmp_path: Path) -> None:
    on, off = clients
    requests = varied_requests(60)
    before = _same_answers(on, off, requests)
    memo = on.app.state.hook_memo  # type: ignore[attr-defined]
    assert memo.hits >= len(requests) and len(memo) > 10
    assert len(off.app.state.hook_memo) == 0  # type: ignore[attr-defined]
    # an editorial change of the pack (here: every source's citation) makes a new knowledge version
    pack = tmp_path / "pack"
    shutil.copytree(MINIPACK, pack)
    sources = pack / "sources.yaml"
    sources.write_text(sources.read_text(encoding="utf-8").replace("citation: Test", "citation: Revised test"),
                       encoding="utf-8")
    revised = load(pack)
    provider.set_provider(lambda: revised)
    after = _same_answers(on, off, requests)
    assert any(a != b for a, b in zip(before, after, strict=True))
    assert any(b"Revised test" in a for a in after) and not any(b"Revised test" in b for b in before)


def test_memo_never_changes_a_check_answer(clients: tuple[TestClient, TestClient]) -> None:
    on, off = clients
    for body in _check_bodies(40):
        first, again, plain = (c.post("/api/check", json=body) for c in (on, on, off))
        assert first.status_code == plain.status_code == 200, plain.text[:300]
        assert first.content == again.content == plain.content
    assert on.app.state.check_memo.hits >= 40  # type: ignore[attr-defined]


def test_a_bad_request_is_still_refused_after_its_good_twin(clients: tuple[TestClient, TestClient]) -> None:
    on, _ = clients
    service, body = next((s, b) for s, b in varied_requests(10) if s == SIGN)
    assert on.post(f"/cds-services/{service}", json=body).status_code == 200
    wrong = {**body["prefetch"]["patient"], "birthDate": "1980-13-45"}
    bad = {**body, "prefetch": {**body["prefetch"], "patient": wrong}}
    response = on.post(f"/cds-services/{service}", json=bad)
    assert response.status_code == 400 and "birthDate" in response.json()["detail"]
    check = {"order": {"sig": "calmazepam 5 mg PO TID x 3 days"}, "case": {"age": 70}}
    assert on.post("/api/check", json=check).status_code == 200
    response = on.post("/api/check", json={**check, "case": {"age": 200}})
    assert response.status_code == 422 and response.json()["field"] == "body.case.age"


def _ids(answer: dict[str, Any]) -> list[str]:
    cards = answer["cards"]
    return [c["uuid"] for c in cards] + [s["uuid"] for c in cards for s in c.get("suggestions", [])]


def test_card_ids_are_new_for_each_hook_call(clients: tuple[TestClient, TestClient]) -> None:
    on, off = clients
    draft = med("rx1", "Calmazepam", code="99901", status="draft", dose_mg=20, per_day=4, days=30)
    body = hook_request("order-sign", [draft], prefetch={"patient": patient("1940-01-01"), "medications": bundle(
        med("rx0", "Painocodone", dose_mg=5, per_day=4))})
    answers = []
    for _ in range(3):
        body = {**body, "hookInstance": str(uuid.uuid4())}
        answers.append(on.post(f"/cds-services/{SIGN}", json=body).json())
    ids = [_ids(a) for a in answers]
    assert len(ids[0]) >= 3
    every = [i for each in ids for i in each]
    assert len(set(every)) == len(every)  # unique within each answer and across the calls
    assert all(str(uuid.UUID(i)) == i for i in every)
    # the same call sent again (a retry) is answered the same, memo or not
    assert on.post(f"/cds-services/{SIGN}", json=body).json() == answers[-1] == off.post(
        f"/cds-services/{SIGN}", json=body).json()
    created = [a["resource"]["id"] for c in answers[0]["cards"] for s in c.get("suggestions", [])
               for a in s["actions"] if a["type"] == "create"]
    assert all(i.startswith("clinguide-") for i in created)
    # the feedback endpoint takes the ids as sent
    card = answers[-1]["cards"][0]
    feedback = {"feedback": [{"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": "2023-05-01T10:00:00Z",
                              "overrideReason": {"userComment": "seen"}}]}
    response = on.post(f"/cds-services/{SIGN}/feedback", json=feedback)
    assert response.status_code == 200 and response.json() == {"recorded": 1}


def test_answers_that_read_the_ehr_are_not_kept(minikb: KnowledgeBase, unsigned: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINGUIDE_CDS_FHIR_SERVERS_UNSIGNED", "https://ehr.example.org/fhir")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/Patient/p1"):
            return httpx.Response(200, json=patient("1950-01-01"))
        return httpx.Response(200, json=bundle())

    provider.set_provider(lambda: minikb)
    try:
        client = TestClient(create_app(now=NOW, fhir_transport=httpx.MockTransport(handler)))
        draft = med("rx1", "Calmazepam", code="99901", status="draft", dose_mg=5, per_day=3, days=5)
        body = hook_request("order-sign", [draft], fhirServer="https://ehr.example.org/fhir",
                            fhirAuthorization={"access_token": "tok", "token_type": "Bearer"})
        assert client.post(f"/cds-services/{SIGN}", json=body).status_code == 200
        once = len(seen)
        assert once > 0
        assert client.post(f"/cds-services/{SIGN}", json=body).status_code == 200
        assert len(seen) == 2 * once  # read again: the record on the server may have changed
        assert len(client.app.state.hook_memo) == 0  # type: ignore[attr-defined]
    finally:
        provider.set_provider(None)


def test_memo_is_bounded(minikb: KnowledgeBase, unsigned: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINGUIDE_RESULT_CACHE_SIZE", "3")
    provider.set_provider(lambda: minikb)
    try:
        client = TestClient(create_app(now=NOW))
        for service, body in varied_requests(8, seed=3):
            assert client.post(f"/cds-services/{service}", json=body).status_code == 200
        for body in _check_bodies(8):
            assert client.post("/api/check", json=body).status_code == 200
        assert len(client.app.state.hook_memo) == 3  # type: ignore[attr-defined]
        assert len(client.app.state.check_memo) == 3  # type: ignore[attr-defined]
    finally:
        provider.set_provider(None)


def test_the_setting_is_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    from clinguide.settings import SettingError, get_settings

    monkeypatch.setenv("CLINGUIDE_RESULT_CACHE_SIZE", "-1")
    with pytest.raises(SettingError, match="CLINGUIDE_RESULT_CACHE_SIZE"):
        get_settings()


def test_the_evaluation_time_is_part_of_the_key(unsigned: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Age counts days and hours since surgery count time (the shipped pack's post-fusion phases are
    timed in hours): the same call a few hours later, the same day, may be answered differently."""
    import datetime as dt

    from clinguide.kb import get_kb
    from clinguide.service.cds import evaluate

    get_kb()
    start = dt.datetime(2023, 4, 28, 1, tzinfo=dt.UTC)
    clock = {"now": start}
    monkeypatch.setattr(evaluate, "parse_now", lambda value: clock["now"])
    on = TestClient(create_app())
    monkeypatch.setenv("CLINGUIDE_RESULT_CACHE_SIZE", "0")
    off = TestClient(create_app())
    draft = med("rx1", "diazepam", status="draft", dose_mg=5, per_day=3, days=5)
    body = hook_request("order-sign", [draft], prefetch={
        "patient": patient("1960-04-29"), "medications": bundle(),
        "procedures": bundle({"resourceType": "Procedure", "id": "pr", "status": "completed",
                              "subject": {"reference": "Patient/p1"}, "code": {"text": "Lumbar spinal fusion"},
                              "performedDateTime": "2023-04-28T01:00:00Z"})})
    answers = []
    for hours in (2, 5, 12, 22, 24 * 3, 24 * 400):
        clock["now"] = start + dt.timedelta(hours=hours)
        first, plain = on.post(f"/cds-services/{SIGN}", json=body), off.post(f"/cds-services/{SIGN}", json=body)
        assert first.status_code == 200 and first.content == plain.content
        answers.append(plain.content)
    assert len(set(answers[:4])) > 1  # the same day


def test_a_large_answer_is_not_kept() -> None:
    from clinguide.service.memo import MAX_ENTRY_BYTES, Memo

    memo: Memo[bytes] = Memo(4)
    memo.put(b"small", b"x" * 10)
    memo.put(b"large", b"x" * (MAX_ENTRY_BYTES + 1))
    assert memo.get(b"small") == b"x" * 10 and memo.get(b"large") is None and len(memo) == 1
