"""Drug–drug and drug–class rules of interactions.yaml, applied to the order and the case's drugs.

Alcohol use (moderate or heavy) enters as the agent ``alcohol`` among the case's drugs, so
alcohol rules are ordinary interaction rules. A drug the case lists as stopped ("no longer taking
oxycodone") is not a current drug: it is said to have been read as stopped, and a rule with
``within_days`` that would pair it with the order is said to apply after stopping, the stop date
not checked (the case does not record it reliably).
"""

from __future__ import annotations

from clinguide.checks.base import CheckContext, KBIndex, RuleIndex

Candidate = tuple[RuleIndex, list[str], bool]  # rule, the other drugs it fires with, age missing


def run(ctx: CheckContext) -> None:
    drug = ctx.drug
    if drug is None:
        return
    others: dict[str, str] = {}  # drug id -> name as written; the ordered drug itself is not an "other"
    for entry in ctx.case.drugs:
        if entry.id != drug.id and entry.id not in others:
            others[entry.id] = entry.name
    candidates, fired = _candidates(ctx, others)
    age_missing_sources: list[str] = []
    for ri, hits, age_missing in candidates:
        rule = ri.rule
        if rule.min_count is None:
            hits = [d for d in hits if not _superseded(ctx.index, rule.id, fired.get(d, set()))]
            if not hits:
                continue
        if age_missing:
            age_missing_sources += [s for s in rule.sources if s not in age_missing_sources]
            continue
        _say(ctx, ri, hits, others)
    if age_missing_sources:
        ctx.say("interaction.age-missing", "missing-data", "info", age_missing_sources)
    _stopped(ctx)


def _stopped(ctx: CheckContext) -> None:
    """Drugs read as stopped: never a current-use finding, never dropped without a word."""
    assert ctx.drug is not None
    for entry in ctx.case.stopped_drugs:
        if entry.id == ctx.drug.id:
            continue
        other = {entry.id: entry.name}
        drug = ctx.kb.drugs.get(entry.id)
        name = drug.name if drug is not None else entry.id
        windows = [ri.rule for ri in ctx.index.rules
                   if ri.rule.within_days and ri.rule.min_count is None and _hits(ctx, ri, other)]
        for rule in windows:  # the rule holds for some days after stopping and the stop date is unread:
            # applied at its own code and severity, as if within the window, until the date shows otherwise
            ctx.say("interaction.stopped-within-days", rule.code, rule.severity, rule.sources,
                    title=rule.title, drug=ctx.drug.name, other=name, days=rule.within_days,
                    rule_text=rule.text)
        if not windows:
            ctx.say("interaction.stopped", "medication-stopped", "info", [], drug=ctx.drug.name, other=name,
                    text=entry.name)


def _candidates(ctx: CheckContext, others: dict[str, str]) -> tuple[list[Candidate], dict[str, set[str]]]:
    """Every rule's hits, before supersedes is applied, and for each other drug the pairwise rules that fired.

    Two passes (this, then the filter in ``run``) make ``supersedes`` hold whatever the rules' order in the pack.
    """
    candidates: list[Candidate] = []
    fired: dict[str, set[str]] = {}  # drug id -> ids of pairwise rules that fired for it
    for ri in ctx.index.rules:
        rule = ri.rule
        hits = _hits(ctx, ri, others)
        if hits is None:
            continue
        if rule.min_age is not None and ctx.age is None:
            candidates.append((ri, hits, True))
            continue
        if rule.min_age is not None and ctx.age is not None and ctx.age < rule.min_age:
            continue
        if rule.min_count is None:
            for d in hits:
                fired.setdefault(d, set()).add(rule.id)
        candidates.append((ri, hits, False))
    return candidates, fired


def _say(ctx: CheckContext, ri: RuleIndex, hits: list[str], others: dict[str, str]) -> None:
    assert ctx.drug is not None
    rule = ri.rule
    names = ", ".join(_name(ctx, d, others[d]) for d in hits)
    count_note = ""
    if rule.min_count is not None:
        count_note = ctx.kb.phrase("interaction.count", counted=len(hits) + 1, min_count=rule.min_count)
    ctx.say("interaction.found", rule.code, rule.severity, rule.sources, suggestion=rule.suggestion,
            title=rule.title, drug=ctx.drug.name, others=names, count=count_note, rule_text=rule.text)


def _hits(ctx: CheckContext, ri: RuleIndex, others: dict[str, str]) -> list[str] | None:
    """The case's drugs that make a rule fire with the order (None if it does not fire)."""
    assert ctx.drug is not None
    index, order_id = ctx.index, ctx.drug.id
    if ri.rule.min_count is not None:
        return _counted_hits(ctx, ri, others)
    hits = []
    if index.matches(order_id, ri.order_drugs, ri.order_classes):
        hits += [d for d in others if index.matches(d, ri.other_drugs, ri.other_classes)]
    if ri.rule.symmetric and index.matches(order_id, ri.other_drugs, ri.other_classes):
        hits += [d for d in others if d not in hits and index.matches(d, ri.order_drugs, ri.order_classes)]
    return hits or None


def _counted_hits(ctx: CheckContext, ri: RuleIndex, others: dict[str, str]) -> list[str] | None:
    """A counting rule (``min_count``): the other drugs counted, if with the order they reach the count."""
    assert ctx.drug is not None
    index, order_id = ctx.index, ctx.drug.id
    if not index.matches(order_id, ri.order_drugs, ri.order_classes):
        return None
    hits = [d for d in others if index.matches(d, ri.other_drugs, ri.other_classes)]
    count = len(hits) + (1 if index.matches(order_id, ri.other_drugs, ri.other_classes) else 0)
    return hits if ri.rule.min_count is not None and count >= ri.rule.min_count else None


def _superseded(index: KBIndex, rule_id: str, fired_for_drug: set[str]) -> bool:
    """True when another rule that fired for this drug pair supersedes ``rule_id``."""
    return any(
        rule_id in ri.rule.supersedes for ri in index.rules if ri.rule.id in fired_for_drug and ri.rule.id != rule_id
    )


def _name(ctx: CheckContext, drug_id: str, written: str) -> str:
    drug = ctx.kb.drugs.get(drug_id)
    if drug is None:
        return written
    if written.strip().lower() == drug.name.lower() or drug_id == "alcohol":
        return written
    return f"{written} ({drug.name})"
