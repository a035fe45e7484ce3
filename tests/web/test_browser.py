"""The five flows in Debian's chromium (headless, through Playwright) against a real uvicorn server."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlencode, urlparse

import pytest

from .live import PROPOSAL_MARKER, Live

pytestmark = [pytest.mark.browser, pytest.mark.timeout(120)]
QUESTION = "Should I take Valium for back spasm?"


def _ask(page: Any, question: str, audience: str = "I am a clinician") -> None:
    page.goto("/")
    page.get_by_label(audience).check()  # asked before the first answer (issue 11)
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Ask").click()
    page.locator("article.article").wait_for()


def test_ask_shows_cited_sections(page: Any) -> None:
    _ask(page, QUESTION)
    article = page.locator("article.article")
    assert article.locator("section.article-section").count() >= 2
    assert page.locator(".bottom-line").inner_text().strip()
    citation = article.locator("sup.cite a").first
    target = citation.get_attribute("href")
    assert target and re.fullmatch(r"#ref-\d+", target)
    assert page.locator(target).count() == 1  # the superscript links to its reference
    citation.click()
    assert urlparse(page.url).fragment == target[1:]
    assert "Checked against sources; clinician review pending" in page.locator(".review-line").inner_text()
    assert page.locator(".review-steps").count() == 0
    # htmx pushed a shareable URL
    query = parse_qs(urlparse(page.url).query)
    assert query["q"] == [QUESTION]


def test_switch_audience_shows_patient_text(page: Any) -> None:
    _ask(page, QUESTION)
    clinician_text = page.locator("article.article").inner_text()
    assert "Written for clinicians" in clinician_text
    page.get_by_label("I am a patient or carer").check()
    page.locator(".audience-note", has_text="patients and carers").wait_for()
    patient_text = page.locator("article.article").inner_text()
    assert patient_text != clinician_text
    assert parse_qs(urlparse(page.url).query)["audience"] == ["patient"]
    # the shared URL reproduces the patient answer on a fresh load
    page.goto(page.url)
    assert "patients and carers" in page.locator(".audience-note").inner_text()
    assert page.get_by_label("I am a patient or carer").is_checked()


def test_follow_up_question_is_clickable(page: Any) -> None:
    _ask(page, QUESTION)
    link = page.locator(".followup-box a").first
    follow_up = link.inner_text().strip()
    link.click()
    page.wait_for_function("q => new URL(location.href).searchParams.get('q') === q", arg=follow_up)
    page.locator("article.article, .not-covered").first.wait_for()


def test_not_covered_panel(page: Any) -> None:
    page.goto("/?q=How+do+I+treat+a+sprained+ankle+in+a+dog%3F&audience=clinician")
    panel = page.locator(".not-covered")
    assert panel.is_visible()
    assert "Not covered" in panel.inner_text()


def test_assess_case_shows_verdict(page: Any) -> None:
    page.goto("/assess")
    page.get_by_label("Age (years)").fill("45")
    page.get_by_label("Symptom days (back spasm)").fill("5")
    page.get_by_label("Muscle spasm").select_option("severe")
    page.get_by_role("button", name="Assess").click()
    verdict = page.locator("section.verdict")
    verdict.wait_for()
    assert re.search(r"Diazepam:", verdict.inner_text())
    # issue 12: the verdict's label, not its machine code
    assert verdict.locator(".verdict-word").inner_text() in (
        "May be considered — short term only", "Not yet", "Not recommended", "Avoid")
    assert verdict.locator("code").count() == 0
    assert page.locator(".patient-summary").inner_text().count("45 years") == 1
    assert page.locator("ol.steps li").count() >= 1
    assert page.locator(".references li").count() >= 1


def test_check_order_with_opioid_shows_critical_finding(page: Any) -> None:
    page.goto("/check")
    page.get_by_label("Sig line").first.check()
    page.locator("#sig").fill("diazepam 5 mg PO q8h prn x 7 days")
    page.get_by_label("Age (years)").fill("50")
    page.get_by_label("Medication 1").fill("oxycodone")
    page.get_by_role("button", name="Check").click()
    first = page.locator("ol.findings li.finding").first
    first.wait_for()
    assert "finding-critical" in (first.get_attribute("class") or "")
    assert first.locator(".badge").inner_text().strip().lower().endswith("critical")  # a text label, not colour alone
    assert "opioid-benzodiazepine" in page.locator("ol.findings").inner_text()
    assert first.locator(".finding-detail").inner_text().startswith("Why:")


def test_keyboard_reaches_the_question_box(page: Any) -> None:
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # the audience question comes first (issue 11)
    assert page.evaluate("document.activeElement.name") == "audience"
    page.keyboard.press("Space")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type(QUESTION)
    page.keyboard.press("Enter")
    page.locator("article.article").wait_for()


def test_approve_proposal_and_see_it_live(page: Any, live: Live) -> None:
    page.goto("/editorial")
    page.get_by_label("Editorial token").fill(live.reviewer_token)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="Review queue").wait_for()
    page.locator(f"a[href='/editorial/proposals/{live.proposal_id}']").first.click()
    # the change reads as text with the added words marked; the YAML diff is one click away
    assert PROPOSAL_MARKER.split()[0] in page.locator(".change ins").first.inner_text()
    page.locator("summary", has_text="YAML diff").click()
    assert PROPOSAL_MARKER in " ".join(page.locator("pre.diff .d-add").all_inner_texts())
    page.get_by_label("Comment").fill("Checked against the sources.")
    # approving re-validates the whole pack with the change (seconds on a loaded 2-core machine)
    page.get_by_role("button", name="Approve").click(timeout=60_000)
    page.locator(".alert-ok").wait_for(timeout=60_000)
    assert "approved" in page.locator(".alert-ok").inner_text()
    assert "Rex Reviewer" in page.locator("table.history").inner_text()
    # the edited statement leads the bottom line's recipe and sits in "More detail": open it (full=1)
    page.goto("/?" + "q=Should+I+take+Valium+for+back+spasm%3F&audience=clinician&full=1")
    assert PROPOSAL_MARKER in page.locator("article.article").inner_text()


# ----- phone (issue 11) ---------------------------------------------------------------------
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def phone(browser: Any, live: Live) -> Any:
    context = browser.new_context(base_url=live.url, viewport=PHONE)
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def _within(page: Any, selector: str, screens: float) -> bool:
    """The element's top and bottom lie within the first ``screens`` phone screens of the page."""
    box = page.locator(selector).first.bounding_box()
    return box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"] * screens


@pytest.mark.parametrize(
    ("question", "level"),
    [
        ("back pain with leg numbness and I can't control my bladder", "emergency"),
        ("I had a spinal fusion last week and now my wound is leaking", "contact-surgical-team"),
        ("Should I take Valium for back spasm?", None),
        ("Can I drink alcohol on Valium?", None),
    ],
)
def test_phone_patient_sees_bottom_line_and_urgent_first(phone: Any, question: str, level: str | None) -> None:
    phone.goto("/?" + urlencode({"q": question, "audience": "patient"}))
    phone.locator("article.article").wait_for()
    assert _within(phone, ".bottom-line", 1), "bottom line not on the first screen"
    if level:
        assert phone.locator(f".urgent.urgent-{level}").is_visible()
        assert _within(phone, ".urgent", 1), "urgent block not on the first screen"
    else:
        assert phone.locator(".urgent").count() == 0
    assert _within(phone, ".followup-box", 2), "follow-ups not within two screens"
    # citation superscripts are at least 24 px tap targets, and the reference list leads back
    for box in phone.eval_on_selector_all(
        "sup.cite a", "els => els.filter(e => e.offsetParent).map(e => e.getBoundingClientRect().toJSON())"
    ):
        assert box["width"] >= 24 and box["height"] >= 24, box
    first = phone.locator(".bottom-line sup.cite a").first
    if first.count():
        target = first.get_attribute("href")
        first.click()
        assert urlparse(phone.url).fragment == target[1:]
        phone.locator(f"{target} a.ref-back").click()
        assert urlparse(phone.url).fragment == "article-h"


def test_phone_more_detail_opens_without_script(browser: Any, live: Live) -> None:
    context = browser.new_context(base_url=live.url, viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    page.goto("/?" + urlencode({"q": "Should I take Valium for back spasm?", "audience": "patient"}))
    more = page.locator("details.more")
    hidden = more.locator(".article-section").first
    assert not hidden.is_visible()
    more.locator("summary").click()
    assert hidden.is_visible()
    context.close()
