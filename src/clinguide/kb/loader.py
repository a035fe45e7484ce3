"""Read the pack's YAML, overlay approved editorial versions, build the KnowledgeBase.

Only approved items are served; every item is still validated, so a draft that no
longer fits the models is reported by ``clinguide kb validate``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from clinguide.kb import cache as kb_cache
from clinguide.kb import models as m
from clinguide.kb.knowledge import KnowledgeBase


def _yaml_load(text: str) -> Any:
    """YAML with libyaml when present (several times faster); imported only when the pack is read,
    not when a command finds the validated pack in its cache."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(text, Loader=loader)

PACK_DIR = kb_cache.PACK_DIR

# kind -> (glob, top-level key or None for a single mapping, model)
KINDS: dict[str, tuple[str, str | None, type[BaseModel]]] = {
    "source": ("sources.yaml", "sources", m.Source),
    "class": ("classes.yaml", "classes", m.DrugClass),
    "drug": ("drugs/*.yaml", "drugs", m.Drug),
    "agent": ("agents/*.yaml", "drugs", m.Drug),
    "condition": ("conditions.yaml", "conditions", m.Condition),
    "therapy": ("therapies.yaml", "therapies", m.Therapy),
    "interaction": ("interactions.yaml", "interactions", m.InteractionRule),
    "statement": ("statements/*.yaml", "statements", m.Statement),
    "red-flag": ("red_flags.yaml", "red_flags", m.RedFlag),
    "finding-text": ("findings.yaml", "findings", m.FindingText),
    "phase": ("phases.yaml", "phases", m.PhaseDefinition),
    "plan": ("plans/*.yaml", "plans", m.Plan),
    "codelist": ("codes/*.yaml", None, m.CodeList),
    "policy": ("policy.yaml", None, m.Policy),
    "pack": ("pack.yaml", None, m.PackInfo),
}
SINGLETONS = ("policy", "pack")
# Kinds the editorial workflow may change (a drug monograph and an agent share the Drug model).
EDITABLE = ("source", "class", "drug", "agent", "condition", "therapy", "interaction", "statement", "phase", "plan")


@dataclass(frozen=True)
class Problem:
    file: str
    item: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.item}: {self.field}: {self.message}"


class PackError(Exception):
    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass
class RawItem:
    kind: str
    file: str
    data: dict[str, Any]

    @property
    def id(self) -> str:
        value = self.data.get("id") if isinstance(self.data, dict) else None
        return str(value) if value is not None else self.kind


@dataclass
class LoadResult:
    items: list[tuple[RawItem, BaseModel]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    digest: str = ""


def read_raw(pack_dir: Path = PACK_DIR) -> tuple[list[RawItem], list[Problem]]:
    raw: list[RawItem] = []
    problems: list[Problem] = []
    for kind, (pattern, key, _model) in KINDS.items():
        files = sorted(pack_dir.glob(pattern))
        if not files and kind in (*SINGLETONS, "source", "drug", "statement"):
            problems.append(Problem(pattern, "-", "-", "required file is missing"))
        for path in files:
            rel = str(path.relative_to(pack_dir))
            import yaml

            try:
                doc = _yaml_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                problems.append(Problem(rel, "-", "-", f"not valid YAML: {exc}"))
                continue
            if key is None:
                if not isinstance(doc, dict):
                    problems.append(Problem(rel, "-", "-", "expected a mapping at the top level"))
                    continue
                raw.append(RawItem(kind, rel, doc))
                continue
            if not isinstance(doc, dict) or not isinstance(doc.get(key), list):
                problems.append(Problem(rel, "-", key, f"expected a top-level '{key}:' list"))
                continue
            for entry in doc[key]:
                if not isinstance(entry, dict):
                    problems.append(Problem(rel, "-", key, "every entry must be a mapping"))
                    continue
                raw.append(RawItem(kind, rel, entry))
    return raw, problems


def apply_overlay(raw: list[RawItem], overlay: Mapping[tuple[str, str], dict[str, Any]]) -> list[RawItem]:
    """Replace or add items by (kind, id) with editorial versions (the full item mapping)."""
    if not overlay:
        return raw
    out: list[RawItem] = []
    used: set[tuple[str, str]] = set()
    for item in raw:
        key = (item.kind, item.id)
        if key in overlay:
            out.append(RawItem(item.kind, f"{item.file} (editorial)", dict(overlay[key])))
            used.add(key)
        else:
            out.append(item)
    for (kind, item_id), data in overlay.items():
        if (kind, item_id) not in used:
            out.append(RawItem(kind, f"editorial:{kind}/{item_id}", dict(data)))
    return out


def parse(raw: list[RawItem]) -> LoadResult:
    result = LoadResult()
    hasher = hashlib.sha256()
    for item in raw:
        model = KINDS[item.kind][2]
        hasher.update(json.dumps([item.kind, item.data], sort_keys=True, default=str).encode())
        try:
            result.items.append((item, model.model_validate(item.data)))
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(part) for part in err["loc"]) or "-"
                result.problems.append(Problem(item.file, item.id, where, err["msg"]))
    result.digest = hasher.hexdigest()[:12]
    return result


def _approved(model: BaseModel) -> bool:
    review = getattr(model, "review", None)
    return review is None or review.status == "approved"


def build(result: LoadResult) -> KnowledgeBase:
    """Index the approved items. Raises PackError if a singleton is missing."""
    by_kind: dict[str, list[Any]] = {kind: [] for kind in KINDS}
    for raw, model in result.items:
        if _approved(model):
            by_kind[raw.kind].append(model)
    missing = [k for k in SINGLETONS if not by_kind[k]]
    if missing:
        raise PackError([Problem(f"{k}.yaml", "-", "-", "missing or not approved") for k in missing])
    info: m.PackInfo = by_kind["pack"][0]
    return KnowledgeBase(
        info=info,
        version=f"{info.version}+{result.digest}",
        sources={s.id: s for s in by_kind["source"]},
        classes={c.id: c for c in by_kind["class"]},
        drugs={d.id: d for d in by_kind["drug"] + by_kind["agent"]},
        conditions={c.id: c for c in by_kind["condition"]},
        therapies={t.id: t for t in by_kind["therapy"]},
        interactions=list(by_kind["interaction"]),
        statements={s.id: s for s in by_kind["statement"]},
        phases=list(by_kind["phase"]),
        plans={(p.setting, p.phase): p for p in by_kind["plan"]},
        policy=by_kind["policy"][0],
        code_lists=list(by_kind["codelist"]),
        red_flags=list(by_kind["red-flag"]),
        finding_texts={t.id: t for t in by_kind["finding-text"]},
    )


def load(
    pack_dir: Path = PACK_DIR,
    overlay: Mapping[tuple[str, str], dict[str, Any]] | None = None,
    strict: bool = True,
) -> KnowledgeBase:
    """Load, validate and index a pack. With ``strict`` any problem raises PackError.

    A pack without overlay that validated once is cached (pickled, in the user's cache
    directory, keyed by the files' sizes and times), so the command line starts fast.
    """
    path = kb_cache.path_for(pack_dir) if strict and not overlay else None
    if path is not None:
        cached = kb_cache.read(path)
        if cached is not None:
            return cached
    kb = _load(pack_dir, overlay, strict)
    if path is not None:
        kb_cache.write(path, kb)
    return kb


def _load(
    pack_dir: Path,
    overlay: Mapping[tuple[str, str], dict[str, Any]] | None,
    strict: bool,
) -> KnowledgeBase:
    from clinguide.kb.validate import cross_check

    raw, problems = read_raw(pack_dir)
    result = parse(apply_overlay(raw, overlay or {}))
    problems += result.problems
    if strict and problems:
        raise PackError(problems)
    kb = build(result)
    if strict:
        cross = cross_check(result, kb)
        if cross:
            raise PackError(cross)
    return kb
