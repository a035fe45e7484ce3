"""A page's dependencies fail as a page: the knowledge base or the editorial store missing is an HTML
error page of that page area with the right status, never a traceback or a JSON body."""

from __future__ import annotations

import pytest
from fastapi import HTTPException
from fastapi.testclient import TestClient

from clinguide.service.web import common, editorial


@pytest.fixture
def no_pack(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> None:
        raise RuntimeError("the pack does not load")

    monkeypatch.setattr(common, "get_kb", broken)


@pytest.mark.parametrize(("path", "nav"), [("/assess", "/assess"), ("/check", "/check"), ("/drugs", "/drugs"),
                                           ("/drugs/diazepam", "/drugs")])
def test_pack_unavailable_is_a_503_page_of_its_area(client: TestClient, no_pack: None, path: str, nav: str) -> None:
    response = client.get(path)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "Knowledge pack unavailable" in response.text and "Traceback" not in response.text
    assert f'<a href="{nav}" aria-current="page">' in response.text
    assert "Content-Security-Policy" in response.headers


def test_pack_unavailable_posting_a_form_is_a_503_page(client: TestClient, no_pack: None) -> None:
    response = client.post("/check", data={"sig": "diazepam 5 mg PO q8h x 5 days"})
    assert response.status_code == 503 and "Knowledge pack unavailable" in response.text


def test_about_page_does_without_the_pack(client: TestClient, no_pack: None) -> None:
    response = client.get("/about")
    assert response.status_code == 200 and "Knowledge version" not in response.text


def test_store_unavailable_is_a_503_page_and_sign_out_still_clears_the_cookie(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def unreachable() -> None:
        raise HTTPException(503, detail={"code": "store-unavailable", "message": "not reachable"})

    monkeypatch.setattr(editorial, "get_store", unreachable)
    page = client.get("/editorial")
    assert page.status_code == 503 and "Editorial store unavailable" in page.text
    assert '<a href="/editorial" aria-current="page">' in page.text
    client.cookies.set("clinguide_session", "some-session", path="/editorial")
    out = client.post("/editorial/signout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/editorial"
    assert 'clinguide_session=""' in out.headers["set-cookie"]
