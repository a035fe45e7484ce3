"""The ask machinery against a small fixture pack: understanding, selection, citations, rendering, CLI."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from clinguide.answers import retrieve
from clinguide.answers.compose import ask, opening
from clinguide.answers.understand import understand
from clinguide.contracts import Article
from clinguide.kb.knowledge import KnowledgeBase
from clinguide.render.article import to_html, to_json, to_markdown


def ids(article: Article) -> list[str]:
    """Statements of the default view, then of ``more`` (issue 11: a point may sit in either)."""
    return [item.statement or "" for section in [*article.sections, *article.more] for item in section.items]


def check_citations(article: Article) -> None:
    listed = [ref.n for ref in article.references]
    assert listed == list(range(1, len(listed) + 1))
    cited = set(article.bottom_line_citations)
    for section in [*article.sections, *article.more]:
        for item in section.items:
            assert item.citations or item.unsourced, f"item without citations: {item.text}"
            cited.update(item.citations)
    assert cited == set(listed)
    assert not any(ref.id.startswith("SEED") for ref in article.references)


# ----- understanding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("question", "drug"),
    [("diazapam dose", "diazepam"), ("VALIUM for back spasm", "diazepam"), ("is flexeril safe", "cyclobenzaprine")],
)
def test_drugs_by_any_name(fixture_kb: KnowledgeBase, question: str, drug: str) -> None:
    u = understand(question, fixture_kb)
    assert u.covered and u.drugs == (drug,)


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("what is the dose of diazepam", "dose"),
        ("how do I come off diazepam", "stopping"),
        ("can I drink beer on valium", "interactions"),
        ("diazepam side effects", "safety"),
        ("is flexeril better than valium", "alternatives"),
        ("does diazepam work for back spasm, what do trials show", "evidence"),
        ("what can I do for back spasm without medication", "non-drug"),
        ("how does diazepam work", "mechanism"),
        ("pain control after lumbar fusion", "post-op"),
    ],
)
def test_intent(fixture_kb: KnowledgeBase, question: str, intent: str) -> None:
    u = understand(question, fixture_kb)
    assert u.covered
    assert u.primary_intent == intent
    assert not u.full


def test_should_use_is_full(fixture_kb: KnowledgeBase) -> None:
    u = understand("Should I use diazepam for back spasm?", fixture_kb)
    assert u.full and u.primary_intent == "should-use" and u.setting == "back-spasm"


@pytest.mark.parametrize(
    ("question", "reason"),
    [
        ("diazepam for seizures", "other-use"),
        ("valium for alcohol withdrawal", "other-use"),
        ("diazepam for anxiety", "other-use"),
        ("oxycodone dose", "uncovered-drug"),
        ("what is the capital of France", "nothing"),
        ("flexeril for fibromyalgia", "other-condition"),
        ("   ", "empty"),
    ],
)
def test_scope(fixture_kb: KnowledgeBase, question: str, reason: str) -> None:
    u = understand(question, fixture_kb)
    assert not u.covered and u.reason == reason


def test_effect_is_not_a_use(fixture_kb: KnowledgeBase) -> None:
    assert understand("Can diazepam cause sedation?", fixture_kb).covered
    assert understand("seizures after stopping diazepam suddenly", fixture_kb).covered
    assert not understand("diazepam for sedation before an MRI", fixture_kb).covered


# ----- composition ---------------------------------------------------------------------


def test_full_article(fixture_kb: KnowledgeBase) -> None:
    article = ask("Should I use diazepam for back spasm?", kb=fixture_kb)
    assert article.covered
    # the key statement of "When to consider it" is the bottom line; the default view then follows the
    # should-use frame's section order and the rest of the article waits in `more`
    assert article.sections[0].heading == "First-line medications"
    headings = [s.heading for s in [*article.sections, *article.more]]
    assert "When to consider it" in headings
    assert "First-line medications" in headings
    assert "Evidence: acute low back pain" in headings and "Evidence: chronic low back pain" in headings
    assert headings.index("Evidence: acute low back pain") < headings.index("Evidence: chronic low back pain")
    assert "fx-cyclo-alt" in ids(article)  # alternatives name other drugs
    assert "fx-cyclo-bottom" in ids(article)
    assert "fx-fusion" not in ids(article)  # another setting
    check_citations(article)


def test_bottom_line_is_one_or_two_sentences_of_a_key_statement(fixture_kb: KnowledgeBase) -> None:
    article = ask("Should I use diazepam for back spasm?", kb=fixture_kb)
    assert article.bottom_line == "Fixture bottom line for diazepam. It is short term only."
    # the statement cites SEED000 and S52a; a seed document is never listed, so only S52a is cited
    assert article.bottom_line_citations == [1]
    assert [r.id for r in article.references[:1]] == ["S52a"]
    assert opening("One. Two. Three.") == "One. Two."


def test_focused_dose_answer(fixture_kb: KnowledgeBase) -> None:
    article = ask("What is the dose of diazepam?", kb=fixture_kb)
    got = ids(article)
    assert "fx-diazepam-dose" in got and "fx-diazepam-older" in got
    assert "fx-heat" not in got and "fx-cyclo-alt" not in got and "fx-evidence-acute" not in got
    assert "2–10 mg 3 or 4 times a day" in article.sections[0].items[0].text
    check_citations(article)


def test_seed_only_statement_is_a_labelled_editorial_note(fixture_kb: KnowledgeBase) -> None:
    """Issue 11 replaces the per-item "(secondary summary)" label: seeds are not references, and a
    statement only a seed supports is marked as an editorial statement without citations."""
    article = ask("alternatives to diazepam", kb=fixture_kb)
    item = next(i for s in [*article.sections, *article.more] for i in s.items if i.statement == "fx-cyclo-alt")
    assert item.unsourced and item.citations == []
    assert item.text.startswith("[Editorial statement, no published source]")
    taper = ask("how to taper diazepam", kb=fixture_kb)
    mixed = next(i for s in [*taper.sections, *taper.more] for i in s.items if i.statement == "fx-diazepam-taper")
    assert not mixed.unsourced and [taper.references[n - 1].id for n in mixed.citations] == ["S01"]
    assert not mixed.text.endswith(")")


def test_patient_answer(fixture_kb: KnowledgeBase) -> None:
    article = ask("What is the dose of diazepam?", audience="patient", kb=fixture_kb)
    got = ids(article)
    assert "fx-secret-clinician" not in got
    for safety in ("fx-diazepam-bottom", "fx-diazepam-drowsy", "fx-diazepam-alcohol", "fx-diazepam-older"):
        assert safety in got
    assert article.sections[-1].heading == "Talk to your prescriber"
    assert article.sections[-1].items[-1].statement == "fx-talk"
    assert article.disclaimer == "Fixture disclaimer for patients."
    assert "usual dose" in article.sections[0].items[0].text
    check_citations(article)


def test_clinician_keeps_clinician_only(fixture_kb: KnowledgeBase) -> None:
    assert "fx-secret-clinician" in ids(ask("diazepam dose", kb=fixture_kb))


def test_post_op(fixture_kb: KnowledgeBase) -> None:
    article = ask("How is pain managed after spinal fusion?", kb=fixture_kb)
    assert article.covered and "fx-fusion" in ids(article)
    assert article.bottom_line.startswith("Multimodal analgesia")


def test_not_covered_article(fixture_kb: KnowledgeBase) -> None:
    article = ask("diazepam for seizures", kb=fixture_kb)
    assert not article.covered and article.sections == [] and article.references == []
    assert "back spasm" in article.bottom_line and "seizures" in article.bottom_line
    for question in article.follow_up_questions:
        assert ask(question, kb=fixture_kb).covered


def test_follow_ups_are_answerable(fixture_kb: KnowledgeBase) -> None:
    for question in ("Should I use diazepam for back spasm?", "diazepam dose", "flexeril"):
        article = ask(question, kb=fixture_kb)
        assert 3 <= len(article.follow_up_questions) <= 5
        for follow_up in article.follow_up_questions:
            assert ask(follow_up, kb=fixture_kb).covered, follow_up


def test_review_and_version(fixture_kb: KnowledgeBase) -> None:
    article = ask("diazepam dose", kb=fixture_kb)
    assert article.review.status == "approved" and article.review.last_updated == "2026-01-01"
    assert article.knowledge_version == fixture_kb.version


def test_unknown_audience(fixture_kb: KnowledgeBase) -> None:
    with pytest.raises(ValueError, match="audience"):
        ask("diazepam", audience="nurse", kb=fixture_kb)


def test_index_cached_per_version(fixture_kb: KnowledgeBase) -> None:
    first = retrieve.index_for(fixture_kb)
    assert retrieve.index_for(fixture_kb) is first
    assert first.version == fixture_kb.version and len(first.ids) == len(fixture_kb.statements)


def test_deterministic(fixture_kb: KnowledgeBase) -> None:
    a = ask("Should I use diazepam for back spasm?", kb=fixture_kb).to_json()
    b = ask("Should I use diazepam for back spasm?", kb=fixture_kb).to_json()
    assert a == b


# ----- rendering ----------------------------------------------------------------------


def test_renderers(fixture_kb: KnowledgeBase) -> None:
    article = ask("Should I use diazepam for back spasm?", kb=fixture_kb)
    html = to_html(article)
    assert html.startswith("<!DOCTYPE html>") and "@media print" in html
    assert "Fixture guideline C &lt;with markup&gt;" in html and "<with markup>" not in html
    assert 'href="https://example.org/label?a=1&amp;b=2"' in html
    md = to_markdown(article)
    # issue 11: the question is the heading
    assert md.startswith("# Should I use diazepam for back spasm?") and "## References" in md
    assert "\\<with markup\\>" in md
    assert json.loads(to_json(article))["covered"] is True


def test_html_escapes_question(fixture_kb: KnowledgeBase) -> None:
    article = ask("<script>alert(1)</script> diazepam dose", kb=fixture_kb)
    html = to_html(article)
    assert "<script>" not in html and "&lt;script&gt;" in html


# ----- CLI -----------------------------------------------------------------------------


@pytest.fixture()
def cli(fixture_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    from clinguide.kb import provider

    monkeypatch.setattr(provider, "_provider", lambda: fixture_kb)
    return CliRunner()


def test_cli_formats(cli: CliRunner) -> None:
    from clinguide.cli import app

    result = cli.invoke(app, ["ask", "diazepam dose", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["covered"] is True
    for fmt, marker in (("markdown", "# diazepam dose"), ("html", "<!DOCTYPE html>"), ("text", "Bottom line")):
        result = cli.invoke(app, ["ask", "diazepam dose", "--format", fmt, "--audience", "patient"])
        assert result.exit_code == 0 and marker in result.stdout


def test_cli_full_prints_more(cli: CliRunner) -> None:
    from clinguide.cli import app

    data = json.loads(cli.invoke(app, ["ask", "Should I use diazepam for back spasm?", "--format", "json"]).stdout)
    assert {"answer_type", "urgent", "more"} <= set(data) and data["more"]
    more_heading = data["more"][0]["heading"]
    short = cli.invoke(app, ["ask", "Should I use diazepam for back spasm?", "--format", "markdown"]).stdout
    full = cli.invoke(app, ["ask", "Should I use diazepam for back spasm?", "--format", "markdown", "--full"]).stdout
    assert "## More detail" not in short and "--full" in short
    assert "## More detail" in full and f"### {more_heading}" in full
    text = cli.invoke(app, ["ask", "Should I use diazepam for back spasm?", "--full"]).stdout
    assert "More detail" in text and more_heading in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ask", "   "], "empty"),
        (["ask", "diazepam", "--audience", "nurse"], "--audience"),
        (["ask", "diazepam", "--format", "pdf"], "--format"),
    ],
)
def test_cli_bad_input(cli: CliRunner, args: list[str], message: str) -> None:
    from clinguide.cli import app

    result = cli.invoke(app, args)
    assert result.exit_code == 2
    assert message in result.stderr
