"""Server-side tests of the web pages through FastAPI's TestClient (no browser)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

QUESTION = "Should I take Valium for back spasm?"
OFF_TOPIC = "How do I treat a sprained ankle in a dog?"


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# ----- ask ---------------------------------------------------------------------
def test_ask_page_without_question_shows_form_and_examples(client: TestClient) -> None:
    response = client.get("/")
    assert response.status_code == 200
    html = response.text
    assert '<label for="q">Your question</label>' in html
    assert "Which best describes you?" in html
    assert 'href="#main"' in html  # skip link
    assert "Try a question" in html
    assert "Content-Security-Policy" in response.headers
    # no external requests: every src/href for assets is local
    assert not re.search(r'(src|href)="(https?:)?//(?!127\.0\.0\.1)[^"]*\.(js|css)', html)


def test_ask_renders_article_with_citations_review_and_disclaimer(client: TestClient) -> None:
    response = client.get("/", params={"q": QUESTION, "audience": "clinician"})
    assert response.status_code == 200
    html = response.text
    assert 'class="article"' in html
    assert "Bottom line" in html
    cited = set(re.findall(r'<a href="#ref-(\d+)"', html))
    listed = set(re.findall(r'<li id="ref-(\d+)"', html))
    assert cited and cited <= listed  # every superscript points at a listed reference
    # one quiet, honest review line instead of workflow chips (issue 11)
    assert "Checked against sources; clinician review pending" in html
    assert "review-steps" not in html and "Under review" not in html
    assert 'class="disclaimer"' in html
    assert "Have a follow-up question?" in html
    follow_ups = re.findall(r'<li><a href="/\?q=[^"]+&amp;audience=clinician"', html)
    assert follow_ups


def test_ask_audience_switch_changes_language(client: TestClient) -> None:
    clinician = client.get("/", params={"q": QUESTION, "audience": "clinician"}).text
    patient = client.get("/", params={"q": QUESTION, "audience": "patient"}).text
    assert "Written for clinicians" in clinician
    assert "Written for patients and carers" in patient
    assert _text(clinician.split('id="article-h"')[1]) != _text(patient.split('id="article-h"')[1])
    assert 'value="patient" checked' in patient


def test_ask_remembers_audience_in_cookie(client: TestClient) -> None:
    client.get("/", params={"q": QUESTION, "audience": "patient"})
    again = client.get("/", params={"q": QUESTION})
    assert "Written for patients and carers" in again.text


def test_ask_htmx_request_returns_only_the_answer(client: TestClient) -> None:
    response = client.get("/", params={"q": QUESTION, "audience": "patient"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert 'class="article"' in response.text


def test_ask_escapes_the_question(client: TestClient) -> None:
    evil = '<script>alert("x")</script> valium'
    response = client.get("/", params={"q": evil})
    assert response.status_code in (200, 422)
    assert '<script>alert("x")</script>' not in response.text
    assert "&lt;script&gt;" in response.text


def test_ask_not_covered_panel(client: TestClient) -> None:
    response = client.get("/", params={"q": OFF_TOPIC, "audience": "patient"})
    assert response.status_code == 200
    assert 'class="panel not-covered"' in response.text
    assert "Not covered" in response.text
    assert 'class="article"' not in response.text


def test_ask_asks_the_audience_before_the_first_answer(client: TestClient) -> None:
    """No silent clinician default: without a choice (or a remembered one) the page asks first."""
    html = client.get("/", params={"q": QUESTION}).text
    assert "One question first" in html
    assert 'class="article"' not in html and "Bottom line" not in html
    assert 'value="clinician" checked' not in html and 'value="patient" checked' not in html
    assert html.index("Which best describes you?") < html.index('<label for="q">Your question</label>')
    assert "/?q=Should+I+take+Valium+for+back+spasm%3F&amp;audience=patient" in html


def test_ask_page_shows_no_internal_ids(client: TestClient) -> None:
    for audience in ("patient", "clinician"):
        html = client.get("/", params={"q": QUESTION, "audience": audience}).text
        text = _text(html.split('id="article-h"')[1])
        assert not re.search(r"\bS\d{2,3}[a-z]?\b|SEED\d{3}|\.ya?ml\b", text), re.findall(r"\bS\d{2,3}\b|SEED\d+", text)
        # the per-item labels are gone (some statements still say "secondary summary" in their own words)
        assert "(from a health summary, not a study)" not in text and "(partly from a secondary summary)" not in text
        assert text.count("A secondary summary: a review of other sources") <= 1


def test_ask_answer_order_urgent_bottom_line_follow_ups_sections_more(client: TestClient) -> None:
    html = client.get("/", params={"q": "back pain and I can't control my bladder", "audience": "patient"}).text
    assert 'class="urgent urgent-emergency"' in html
    assert html.index('class="urgent') < html.index('class="bottom-line"') < html.index('class="followup-box')
    ordinary = client.get("/", params={"q": QUESTION, "audience": "patient"}).text
    assert 'class="urgent' not in ordinary
    assert ordinary.index('class="bottom-line"') < ordinary.index('class="followup-box') < ordinary.index(
        'class="article-section"'
    )
    # "More detail" is a plain <details>: collapsed by default, open with full=1, no script needed
    assert '<details class="more">' in ordinary and "<summary>More detail" in ordinary
    full = client.get("/", params={"q": QUESTION, "audience": "patient", "full": "1"}).text
    assert '<details class="more" open>' in full


def test_ask_references_have_a_way_back(client: TestClient) -> None:
    html = client.get("/", params={"q": QUESTION, "audience": "patient"}).text
    listed = re.findall(r'<li id="ref-(\d+)"', html)
    assert listed and html.count('class="ref-back no-print" href="#article-h"') == len(listed)


def test_ask_bad_audience_is_a_friendly_422(client: TestClient) -> None:
    response = client.get("/", params={"q": QUESTION, "audience": "martian"})
    assert response.status_code == 422
    assert "choose clinician or patient" in response.text
    assert "Traceback" not in response.text


def test_ask_overlong_question_is_a_friendly_422(client: TestClient) -> None:
    response = client.get("/", params={"q": "valium " * 200})
    assert response.status_code == 422
    assert "Question too long" in response.text


# ----- assess ------------------------------------------------------------------
def test_assess_form_has_labelled_controls_and_autocomplete(client: TestClient) -> None:
    html = client.get("/assess").text
    ids = set(re.findall(r'<(?:input|select|textarea)[^>]*\bid="([^"]+)"', html))
    labelled = set(re.findall(r'<label for="([^"]+)"', html))
    assert ids <= labelled, f"controls without a label: {ids - labelled}"
    assert '<datalist id="drug-names">' in html
    assert '<option value="Valium">' in html or '<option value="Diazepam">' in html
    assert 'name="tried"' in html


def test_assess_shows_verdict_reasons_steps_and_sources(client: TestClient) -> None:
    response = client.post(
        "/assess", data={"setting": "back-spasm", "age": "45", "symptom_days": "5", "spasm": "severe"}
    )
    assert response.status_code == 200
    html = response.text
    assert re.search(r'class="verdict verdict-\w+"', html)
    # issue 12: the verdict label, without its machine code beside it
    assert re.search(r'class="verdict-word">(May be considered|Not yet|Not recommended|Avoid)', html)
    assert not re.search(r"<code>(consider-short-term|not-yet|not-recommended|avoid)</code>", html)
    assert 'class="steps"' in html
    assert "Sources" in html and 'id="ref-1"' in html
    assert 'value="45"' in html  # the form keeps what was entered


def test_assess_with_opioid_avoids_diazepam(client: TestClient) -> None:
    response = client.post(
        "/assess", data={"age": "45", "symptom_days": "5", "spasm": "severe", "medications": ["oxycodone", ""]}
    )
    assert 'class="verdict-word">Avoid</span>' in response.text and "<code>avoid</code>" not in response.text


def test_assess_page_prints_the_patient_details_and_date(client: TestClient) -> None:
    import datetime as dt

    response = client.post("/assess", data={
        "age": "33", "sex": "female", "pregnant": "yes", "symptom_days": "5", "spasm": "severe",
        "tried": ["heat"], "medications": ["sertraline", ""], "other_conditions": "copd"})
    html = response.text
    summary = html[html.index('class="patient-summary"'):]
    summary = summary[:summary.index("</section>")]
    for text in ("33 years", "female", "pregnant (weeks not given)", "copd", "sertraline", "heat",
                 dt.date.today().isoformat()):
        assert text in summary, text
    # pregnancy of unknown weeks: no NSAID-first step
    assert "an NSAID first" not in html and "acetaminophen rather than an NSAID" in html


def test_assess_page_shows_the_urgent_block_first(client: TestClient) -> None:
    response = client.post("/assess", data={"age": "40", "symptom_days": "3", "spasm": "severe",
                                            "tried": ["heat"], "symptoms": "can't pee, fever"})
    html = response.text
    assert 'class="urgent panel"' in html and "emergency care now" in html
    assert html.index('class="urgent panel"') < html.index('id="plan-h"')
    assert 'class="verdict-word">Not yet</span>' in html


def test_check_page_shows_one_safer_order_and_the_patient_details(client: TestClient) -> None:
    response = client.post("/check", data={"mode": "sig", "sig": "diazepam 10 mg qid x 30 days", "age": "75",
                                           "sex": "male", "tried": ["heat"]})
    html = response.text
    assert html.count("Safer order:") == 1
    assert "Diazepam 2 mg once a day for up to 14 days" in html
    assert '<code>caution</code>' not in html and "Use with caution" in html
    assert 'class="patient-summary"' in html and "75 years" in html


def test_assess_bad_input_is_a_friendly_422(client: TestClient) -> None:
    response = client.post("/assess", data={"age": "forty"})
    assert response.status_code == 422
    assert 'role="alert"' in response.text
    assert "case.age" in response.text
    assert "Traceback" not in response.text


# ----- check -------------------------------------------------------------------
def test_check_sig_with_opioid_gives_critical_first(client: TestClient) -> None:
    response = client.post(
        "/check",
        data={"mode": "sig", "sig": "diazepam 5 mg PO q8h prn x 7 days", "age": "50", "medications": ["oxycodone"]},
    )
    assert response.status_code == 200
    html = response.text
    severities = re.findall(r'<li class="finding finding-(\w+)">', html)
    assert severities and severities[0] == "critical"
    order = {"critical": 0, "warning": 1, "info": 2}
    assert [order[s] for s in severities] == sorted(order[s] for s in severities)
    assert "opioid-benzodiazepine" in html
    assert re.search(r'badge-critical">.*?critical</span>', html, re.S)  # a text label, not colour alone
    assert "Why:" in html and "Suggestion:" in html


def test_check_structured_fields(client: TestClient) -> None:
    response = client.post(
        "/check",
        data={"mode": "fields", "drug": "diazepam", "dose": "5 mg", "frequency": "TID", "days": "5", "age": "40"},
    )
    assert response.status_code == 200
    assert "Calculation" in response.text


def test_check_needs_an_order(client: TestClient) -> None:
    response = client.post("/check", data={"mode": "sig", "sig": ""})
    assert response.status_code == 422
    assert "enter a sig line" in response.text


def test_check_bad_days_names_the_field(client: TestClient) -> None:
    response = client.post("/check", data={"mode": "fields", "drug": "diazepam", "days": "0"})
    assert response.status_code == 422
    assert "order.days" in response.text


# ----- drugs -------------------------------------------------------------------
def test_drug_page_has_dosing_contraindications_interactions_sources(client: TestClient) -> None:
    response = client.get("/drugs/diazepam")
    assert response.status_code == 200
    html = response.text
    assert "<h1" in html and "Diazepam" in html
    assert "Dosing by population" in html and "Older adults" in html
    assert "Contraindications" in html
    assert "Interactions" in html and "Opioid" in html
    assert 'id="ref-1"' in html


def test_drug_page_redirects_brand_names(client: TestClient) -> None:
    response = client.get("/drugs/valium", follow_redirects=False)
    assert response.status_code == 308
    assert response.headers["location"] == "/drugs/diazepam"


def test_unknown_drug_is_a_404_page(client: TestClient) -> None:
    response = client.get("/drugs/no-such-drug")
    assert response.status_code == 404
    assert "Drug not found" in response.text
    assert "<html" in response.text


def test_drug_index_lists_monographs(client: TestClient) -> None:
    html = client.get("/drugs").text
    assert 'href="/drugs/diazepam"' in html and 'href="/drugs/cyclobenzaprine"' in html


# ----- static and print --------------------------------------------------------
def test_static_files_are_served_and_confined(client: TestClient) -> None:
    html = client.get("/").text
    htmx = re.search(r'src="/static/(htmx-[\d.]+\.min\.js)"', html)
    assert htmx
    assert client.get(f"/static/{htmx.group(1)}").status_code == 200
    css = client.get("/static/print.css")
    assert css.status_code == 200 and "display: none" in css.text
    assert client.get("/static/..%2Fweb.py").status_code == 404
    assert client.get("/static/web.py").status_code == 404


def test_print_stylesheet_is_linked(client: TestClient) -> None:
    assert '<link rel="stylesheet" href="/static/print.css" media="print">' in client.get("/").text


# ----- editorial ---------------------------------------------------------------
@pytest.fixture
def editorial(client: TestClient, tmp_path: Path) -> dict[str, object]:
    """Users and one submitted proposal in the client's store (tests/web/live.py seeds the same way)."""
    from .live import seed_store

    reviewer, author, proposal_id = seed_store(f"sqlite:///{tmp_path / 'clinguide.db'}")
    return {"reviewer": reviewer, "author": author, "proposal": proposal_id}


def test_editorial_requires_sign_in(client: TestClient) -> None:
    response = client.get("/editorial")
    assert response.status_code == 200
    assert 'id="token"' in response.text and "Sign in" in response.text
    assert client.get("/editorial/proposals/1").status_code == 401


def test_editorial_bad_token_is_401(client: TestClient, editorial: dict[str, object]) -> None:
    response = client.post("/editorial/signin", data={"token": "wrong"})
    assert response.status_code == 401
    assert "not valid" in response.text


def test_editorial_sign_in_sets_cookie_and_shows_queue(client: TestClient, editorial: dict[str, object]) -> None:
    response = client.post("/editorial/signin", data={"token": editorial["reviewer"]}, follow_redirects=False)
    assert response.status_code == 303
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("samesite", "SameSite")
    queue = client.get("/editorial")
    assert "Review queue" in queue.text
    assert f'href="/editorial/proposals/{editorial["proposal"]}"' in queue.text


def _sign_in(client: TestClient, token: object) -> None:
    client.post("/editorial/signin", data={"token": token}, follow_redirects=False)


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([0-9a-f]+)"', html)
    assert match
    return match.group(1)


def test_editorial_approve_goes_live(client: TestClient, editorial: dict[str, object]) -> None:
    from .live import PROPOSAL_MARKER

    _sign_in(client, editorial["reviewer"])
    page = client.get(f"/editorial/proposals/{editorial['proposal']}")
    assert page.status_code == 200
    assert 'class="diff"' in page.text and "d-add" in page.text
    assert PROPOSAL_MARKER in page.text
    response = client.post(
        f"/editorial/proposals/{editorial['proposal']}",
        data={"csrf": _csrf(page.text), "decision": "approve", "comment": "Fine."},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "The proposal is now <strong>approved</strong>" in response.text
    assert "Rex Reviewer" in response.text  # history
    answer = client.get("/", params={"q": QUESTION, "audience": "clinician"})
    assert PROPOSAL_MARKER in answer.text
    history = client.get("/editorial/history")
    assert "approve" in history.text


def test_editorial_reject_needs_a_comment(client: TestClient, editorial: dict[str, object]) -> None:
    _sign_in(client, editorial["reviewer"])
    page = client.get(f"/editorial/proposals/{editorial['proposal']}")
    url = f"/editorial/proposals/{editorial['proposal']}"
    response = client.post(url, data={"csrf": _csrf(page.text), "decision": "reject", "comment": ""})
    assert response.status_code == 422
    assert "say why" in response.text
    response = client.post(
        url,
        data={"csrf": _csrf(page.text), "decision": "reject", "comment": "Not supported by S01."},
        follow_redirects=True,
    )
    assert "<strong>rejected</strong>" in response.text


def test_editorial_post_without_csrf_is_refused(client: TestClient, editorial: dict[str, object]) -> None:
    _sign_in(client, editorial["reviewer"])
    response = client.post(f"/editorial/proposals/{editorial['proposal']}", data={"decision": "approve"})
    assert response.status_code == 403


def test_author_cannot_approve_own_proposal(client: TestClient, editorial: dict[str, object]) -> None:
    _sign_in(client, editorial["author"])
    page = client.get(f"/editorial/proposals/{editorial['proposal']}")
    assert "another reviewer must decide" in page.text
    from clinguide.service.web.editorial import csrf_token as form_token

    response = client.post(
        f"/editorial/proposals/{editorial['proposal']}",
        data={"csrf": form_token(client.cookies["clinguide_session"]), "decision": "approve"},
    )
    assert response.status_code == 403  # the workflow refuses: authors may not review their own change
    assert "Not done" in response.text


def test_unknown_proposal_is_404(client: TestClient, editorial: dict[str, object]) -> None:
    _sign_in(client, editorial["reviewer"])
    assert client.get("/editorial/proposals/999").status_code == 404
    assert client.get("/editorial/proposals/abc").status_code == 404


def test_sign_out_clears_the_cookie(client: TestClient, editorial: dict[str, object]) -> None:
    _sign_in(client, editorial["reviewer"])
    client.post("/editorial/signout")
    assert 'id="token"' in client.get("/editorial").text
