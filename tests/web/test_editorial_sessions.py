"""Web sign-in is a server-side session: the cookie is an opaque id (never the token), Secure over
https, ended on the server by sign-out, and refused once the token is revoked."""

from __future__ import annotations

import re
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


def _form_token(html: str) -> str:

    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


def test_proposal_page_reads_as_a_change_and_stays_right_after_approval(
    client: TestClient, editorial: dict[str, object]
) -> None:
    """Word-level change of the statement text, sources by citation, the diff not reversed by approval,
    and the "reviewed by" attribution still on the served answer."""

    from .live import PROPOSAL_MARKER

    question = {"q": "Should I take Valium for back spasm?", "audience": "clinician"}
    assert "reviewed by" in client.get("/", params=question).text
    client.post("/editorial/signin", data={"token": editorial["reviewer"]}, follow_redirects=False)
    url = f"/editorial/proposals/{editorial['proposal']}"
    page = client.get(url).text
    assert "Change against the live version" in page
    marker_words = PROPOSAL_MARKER.split()
    assert "<ins>" in page and marker_words[0] in page.split("<ins>", 1)[1]
    facts = page.split("<dt>Sources</dt>", 1)[1].split("</dd>", 1)[0]
    # sources by citation, with links (seed documents are provenance now, not sources: issue 12 item 8)
    assert re.search(r"\[S\d+[a-z]?\]", facts) and "<li><a href=\"https://doi.org/" in facts
    approved = client.post(url, data={"csrf": _form_token(page), "decision": "approve", "comment": "ok"},
                           follow_redirects=True).text
    assert "<strong>approved</strong>" in approved
    assert "What this proposal changed" in approved
    assert "<ins>" in approved and "<del>" not in approved.split("What this proposal changed", 1)[1].split(
        "</section>", 1)[0]  # the approved addition is still shown as an addition, nothing as removed

    chunks = re.split(r'<span class="d-', approved.split('aria-label="Unified diff">', 1)[1].split("</pre>", 1)[0])
    removed = [chunk for chunk in chunks if chunk.startswith("del")]
    added = [chunk for chunk in chunks if chunk.startswith("add")]
    assert added and all(PROPOSAL_MARKER in line for line in added)  # the marker is added …
    assert not any(PROPOSAL_MARKER in line for line in removed)  # … never shown as removed
    answer = client.get("/", params=question).text
    assert PROPOSAL_MARKER in answer
    assert "reviewed by" in answer and "Rex Reviewer" in answer
