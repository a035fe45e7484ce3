"""Web sign-in is a server-side session: the cookie is an opaque id (never the token), Secure over
https, ended on the server by sign-out, and refused once the token is revoked."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

URL = "sqlite:///{}"


@pytest.fixture
def editorial(client: TestClient, tmp_path: Path) -> dict[str, object]:
    from .live import seed_store

    reviewer, author, proposal_id = seed_store(URL.format(tmp_path / "clinguide.db"))
    return {"reviewer": reviewer, "author": author, "proposal": proposal_id}


def _session_cookie(response) -> str:  # type: ignore[no-untyped-def]
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie" and "clinguide_session=" in v]
    assert len(cookies) == 1, response.headers
    return cookies[0]


def test_cookie_is_an_opaque_session_not_the_token(client: TestClient, editorial: dict[str, object]) -> None:
    response = client.post("/editorial/signin", data={"token": editorial["reviewer"]}, follow_redirects=False)
    assert response.status_code == 303
    cookie = _session_cookie(response)
    assert str(editorial["reviewer"]) not in response.headers.get("set-cookie", "")
    assert "HttpOnly" in cookie and "Path=/editorial" in cookie and "Secure" not in cookie  # plain http here
    assert client.cookies["clinguide_session"] != editorial["reviewer"]
    assert "Review queue" in client.get("/editorial").text


def test_cookie_is_secure_over_https(editorial: dict[str, object], client: TestClient) -> None:
    https = TestClient(client.app, base_url="https://testserver")
    response = https.post("/editorial/signin", data={"token": editorial["reviewer"]}, follow_redirects=False)
    assert response.status_code == 303
    assert "Secure" in _session_cookie(response)
    assert "max-age=" in response.headers["strict-transport-security"]


def test_sign_out_ends_the_session_on_the_server(client: TestClient, editorial: dict[str, object]) -> None:
    client.post("/editorial/signin", data={"token": editorial["reviewer"]}, follow_redirects=False)
    stolen = client.cookies["clinguide_session"]
    signed_out = client.post("/editorial/signout", follow_redirects=False)
    assert signed_out.status_code == 303
    assert 'clinguide_session=""' in signed_out.headers["set-cookie"] or "Max-Age=0" in signed_out.headers[
        "set-cookie"]
    # a copy of the cookie taken before sign-out no longer works
    replay = TestClient(client.app, cookies={"clinguide_session": stolen})
    page = replay.get("/editorial/proposals/1")
    assert page.status_code == 401 and 'id="token"' in page.text
    assert "Your session has ended" in replay.get("/editorial").text


def test_revoked_token_ends_the_web_session(client: TestClient, editorial: dict[str, object],
                                            tmp_path: Path) -> None:
    from clinguide.editorial.workflow import EditorialStore

    client.post("/editorial/signin", data={"token": editorial["reviewer"]}, follow_redirects=False)
    assert client.get(f"/editorial/proposals/{editorial['proposal']}").status_code == 200
    EditorialStore(URL.format(tmp_path / "clinguide.db")).revoke_token("Rex Reviewer")
    assert client.get(f"/editorial/proposals/{editorial['proposal']}").status_code == 401
    again = client.post("/editorial/signin", data={"token": editorial["reviewer"]})
    assert again.status_code == 401 and "revoked" in again.text


def test_sign_in_hint_names_the_real_command(client: TestClient) -> None:
    from typer.testing import CliRunner

    from clinguide.cli import app

    page = client.get("/editorial").text
    assert "clinguide editorial create-user" in page and "clinguide editorial rotate-token" in page
    commands = CliRunner().invoke(app, ["editorial", "--help"]).output
    assert "create-user" in commands and "rotate-token" in commands
