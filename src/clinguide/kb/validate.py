"""Cross-item checks of the pack: references resolve, nothing collides, numbers are typed once."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from clinguide.kb import models as m
from clinguide.kb.knowledge import KnowledgeBase, drug_names
from clinguide.kb.loader import LoadResult, Problem
from clinguide.kb.names import normalise
from clinguide.kb.placeholders import LEFTOVER, LITERAL_DOSE, PLACEHOLDER, PlaceholderError

# Which keys of an item's data name which kind of id.
REFERENCE_KEYS: dict[str, str] = {
    "sources": "source",
    "source": "source",
    "older_adult_sources": "source",
    "diazepam_max_days_sources": "source",
    "reassess_sources": "source",
    "origin": "source",
    "reassess_origin": "source",
    "diazepam_max_days_origin": "source",
    "assessed_drug": "drug",
    "cds_scope_classes": "class",
    "tablet_sources": "source",
    "adult_min_age_sources": "source",
    "renal_sources": "source",
    "gestation_sources": "source",
    "components": "drug",
    "suggest_drug": "drug",
    "drug": "drug",
    "drugs": "drug",
    "classes": "class",
    "drug_classes": "class",
    "conditions": "condition",
    "implies": "condition",
    "tried_any_of": "therapy",
    "statements": "statement",
    "monitoring": "statement",
    "supersedes": "interaction",
    "superseded_by": "source",
}
NAMESPACE = {"agent": "drug"}


def _references(data: Any, path: str = "") -> Iterator[tuple[str, str, str]]:
    """Yield (field path, target kind, id) for every reference inside an item's data."""
    if isinstance(data, dict):
        for key, value in data.items():
            where = f"{path}.{key}" if path else key
            target = REFERENCE_KEYS.get(key)
            if key == "origin" and isinstance(value, str):
                continue  # a code list's origin is a file description, not a source id
            if target and isinstance(value, str):
                yield where, target, value
            elif target and isinstance(value, list) and all(isinstance(v, str) for v in value):
                for value_item in value:
                    yield where, target, value_item
            else:
                yield from _references(value, where)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _references(value, f"{path}.{index}")


def cross_check(result: LoadResult, kb: KnowledgeBase) -> list[Problem]:
    problems: list[Problem] = []
    every: dict[str, set[str]] = defaultdict(set)
    seen: dict[tuple[str, str], str] = {}
    for raw, model in result.items:
        kind = NAMESPACE.get(raw.kind, raw.kind)
        item_id = getattr(model, "id", None)
        if item_id is None or raw.kind in ("codelist",):
            continue
        if (kind, item_id) in seen:
            problems.append(Problem(raw.file, item_id, "id", f"duplicate id (also in {seen[(kind, item_id)]})"))
        seen[(kind, item_id)] = raw.file
        every[kind].add(item_id)
    served = {
        "source": set(kb.sources),
        "drug": set(kb.drugs),
        "class": set(kb.classes),
        "condition": set(kb.conditions),
        "therapy": set(kb.therapies),
        "statement": set(kb.statements),
        "interaction": {rule.id for rule in kb.interactions},
    }

    used_sources: set[str] = set()
    for raw, model in result.items:
        approved = getattr(getattr(model, "review", None), "status", "approved") == "approved"
        known = served if approved else every
        data = model.model_dump(mode="json")
        for where, target, ref in _references(data):
            if target == "source":
                used_sources.add(ref)
            if raw.kind == "source":
                continue
            if ref not in known.get(target, set()):
                state = "approved " if approved and ref in every.get(target, set()) else ""
                problems.append(Problem(raw.file, raw.id, where, f"no {state}{target} with id '{ref}'"))

    source_files = {raw.id: raw.file for raw, _ in result.items if raw.kind == "source"}
    superseded = {s.id: s.superseded_by for s in kb.sources.values() if s.superseded_by}
    for source_id in sorted(used_sources & set(superseded)):
        problems.append(Problem(source_files.get(source_id, "sources.yaml"), source_id, "superseded_by",
                                f"superseded by {', '.join(superseded[source_id])}: cite that instead"))
    for source_id in sorted(every["source"] - used_sources - set(superseded)):
        problems.append(Problem(source_files.get(source_id, "sources.yaml"), source_id, "id", "source is never cited"))

    problems += _seed_provenance(result, kb)
    problems += _name_collisions(result)
    problems += _dosing_unique(result)
    problems += _statement_text(result, kb)
    problems += _red_flags(result)
    problems += _policy_limits(kb)
    problems += _finding_wording(kb)
    return problems


def _finding_wording(kb: KnowledgeBase) -> list[Problem]:
    """findings.yaml holds every template the checks use, with only the fields they fill."""
    from clinguide.kb.wording import problems as wording_problems

    codes = {rule.code for drug in kb.drugs.values() for rule in drug.condition_rules}
    return [Problem("findings.yaml", item, where, message)
            for item, where, message in wording_problems(kb.finding_texts, codes)]


def _policy_limits(kb: KnowledgeBase) -> list[Problem]:
    """The assessed drug's course in the policy stays within that drug's own duration limit."""
    policy = kb.policy
    drug = kb.drugs.get(policy.assessed_drug)
    limit = drug.duration_limit.days if drug and drug.duration_limit else None
    if limit is not None and policy.diazepam_max_days > limit:
        return [Problem("policy.yaml", "policy", "diazepam_max_days",
                        f"{policy.diazepam_max_days} days is above {policy.assessed_drug}'s duration limit "
                        f"of {limit} days")]
    return []


def _red_flags(result: LoadResult) -> list[Problem]:
    """Every trigger matches something, none repeats within its flag, and the texts state no doses."""
    from clinguide.clinical.red_flags import compile_trigger

    problems: list[Problem] = []
    for raw, model in result.items:
        if not isinstance(model, m.RedFlag):
            continue
        seen: dict[tuple[tuple[str, ...], ...], str] = {}
        for index, trigger in enumerate(model.triggers):
            compiled = compile_trigger(trigger)
            if not all(compiled):
                problems.append(
                    Problem(raw.file, model.id, f"triggers.{index}", f"'{trigger}' has no words left to match")
                )
            elif compiled in seen:
                problems.append(
                    Problem(raw.file, model.id, f"triggers.{index}", f"'{trigger}' repeats '{seen[compiled]}'")
                )
            seen.setdefault(compiled, trigger)
        for field_name in ("clinician", "patient"):
            stray = LITERAL_DOSE.findall(getattr(model, field_name))
            if stray:
                problems.append(
                    Problem(raw.file, model.id, field_name, f"states {', '.join(stray)}; red flags carry no doses")
                )
    return problems


# Items whose claims may be unsourced editorial statements (text or structure shown as such).
# Everything else drives findings or verdicts and must rest on at least one cited source.
EDITORIAL_ALLOWED = (m.Statement, m.PhaseDefinition, m.Condition, m.Therapy, m.Drug, m.Policy)
SEED_KIND = "seed-document"


def _sourced_parts(data: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every mapping inside an item's data that has a ``sources`` or ``origin`` key."""
    if isinstance(data, dict):
        if "sources" in data or isinstance(data.get("origin"), list):
            yield path, data
        for key, value in data.items():
            yield from _sourced_parts(value, f"{path}.{key}" if path else key)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _sourced_parts(value, f"{path}.{index}")


def _seed_provenance(result: LoadResult, kb: KnowledgeBase) -> list[Problem]:
    """Seeds are provenance, never evidence; findings and bottom lines never rest on a seed alone."""
    seeds = {sid for sid, source in kb.sources.items() if source.kind == SEED_KIND}
    problems: list[Problem] = []
    for raw, model in result.items:
        if raw.kind == "source":
            continue
        data = model.model_dump(mode="json")
        for where, target, ref in _references(data):
            if target != "source":
                continue
            leaf = where.rsplit(".", 1)[-1].rstrip("0123456789").rstrip(".") or where
            is_origin = leaf.endswith("origin") or ".origin." in f".{where}."
            if ref in seeds and not is_origin:
                problems.append(Problem(raw.file, raw.id, where, f"{ref} is a seed document, not evidence: "
                                        "record it under 'origin' and cite what supports the claim"))
            elif is_origin and seeds and ref not in seeds:
                problems.append(Problem(raw.file, raw.id, where, f"'origin' is for seed documents; cite {ref} "
                                        "under 'sources'"))
        if not seeds:
            continue
        for where, part in _sourced_parts(data):
            if part.get("sources") or not part.get("origin"):
                continue  # cited, or not a seed-only claim (other models decide if sources are required)
            whole = not where
            if whole and isinstance(model, EDITORIAL_ALLOWED):
                if isinstance(model, m.Statement) and model.key:
                    problems.append(Problem(raw.file, raw.id, "key", "an unsourced editorial statement cannot "
                                            "be a bottom line (key: true)"))
                continue
            if isinstance(model, m.Policy) and where.startswith(("diazepam_verdict_rules", "preferred_relaxants")):
                continue  # shown with an 'editorial' label beside the verdict or the offer
            problems.append(Problem(raw.file, raw.id, where or "sources", "no cited source: findings and "
                                    "checks cannot rest on an unsourced (seed-only) claim"))
    return problems


def _name_collisions(result: LoadResult) -> list[Problem]:
    problems: list[Problem] = []
    groups: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    files: dict[str, str] = {}
    for raw, model in result.items:
        if isinstance(model, m.Drug):
            names, group = drug_names(model), "drug"
        elif isinstance(model, m.Condition):
            names, group = [model.id, model.name, *model.synonyms], "condition"
        elif isinstance(model, m.Therapy):
            names, group = [model.id, model.name, *model.synonyms], "therapy"
        else:
            continue
        files[model.id] = raw.file
        for name in names:
            groups[group][normalise(name)].add(model.id)
    for group, names in groups.items():
        for name, ids in sorted(names.items()):
            if len(ids) > 1:
                first = sorted(ids)[0]
                problems.append(
                    Problem(files[first], first, "names", f"{group} name '{name}' is used by {', '.join(sorted(ids))}")
                )
    return problems


def _dosing_unique(result: LoadResult) -> list[Problem]:
    problems: list[Problem] = []
    for raw, model in result.items:
        if isinstance(model, m.Drug):
            seen: set[tuple[str, str]] = set()
            for index, rule in enumerate(model.dosing):
                key = (rule.population, rule.formulation)
                if key in seen:
                    problems.append(
                        Problem(raw.file, model.id, f"dosing.{index}", f"second rule for {key[0]} / {key[1]}")
                    )
                seen.add(key)
    return problems


# "anti-\n  inflammatory" in a folded (>-) block reads "anti- inflammatory"
FOLDED_HYPHEN = re.compile(r"\b[A-Za-z]+- [a-z]+")


def _statement_text(result: LoadResult, kb: KnowledgeBase) -> list[Problem]:
    problems: list[Problem] = []
    for raw, model in result.items:
        if not isinstance(model, m.Statement):
            continue
        for field_name in ("clinician", "patient"):
            text = getattr(model, field_name)
            if not text:
                continue
            try:
                rendered = kb.render(text)
            except PlaceholderError as exc:
                problems.append(Problem(raw.file, model.id, field_name, str(exc)))
            else:
                for leftover in LEFTOVER.findall(rendered):
                    problems.append(
                        Problem(raw.file, model.id, field_name, f"malformed placeholder {leftover!r}")
                    )
            for split in FOLDED_HYPHEN.findall(text):
                problems.append(Problem(raw.file, model.id, field_name,
                                        f"'{split}' is a word split by YAML line folding; keep it on one line"))
            stray = LITERAL_DOSE.findall(PLACEHOLDER.sub("", text))
            if stray and not model.literal_numbers:
                problems.append(
                    Problem(
                        raw.file,
                        model.id,
                        field_name,
                        f"states {', '.join(stray)} outside a placeholder; use a placeholder "
                        "such as {dose:DRUG:POPULATION} or set literal_numbers to say why",
                    )
                )
    return problems


def validate_pack(pack_dir: Any = None) -> list[Problem]:
    """Every problem in the pack at ``pack_dir`` (the shipped pack by default)."""
    from clinguide.kb.loader import PACK_DIR, PackError, build, parse, read_raw

    raw, problems = read_raw(pack_dir or PACK_DIR)
    result = parse(raw)
    problems += result.problems
    try:
        kb = build(result)
    except PackError as exc:
        return problems + exc.problems
    return problems + cross_check(result, kb)
