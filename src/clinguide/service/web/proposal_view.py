"""How the review desk shows a proposal: field-by-field changes, word diffs, citations and the unified diff."""

from __future__ import annotations

import contextlib
import difflib
import re
from typing import Any

import yaml

from clinguide.editorial.workflow import ProposalRecord
from clinguide.kb.knowledge import KnowledgeBase


def diff_lines(diff: str) -> list[tuple[str, str]]:
    """A unified diff as (kind, line): kind is file, hunk, add, del or ctx."""
    lines = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            kind = "file"
        elif line.startswith("@@"):
            kind = "hunk"
        elif line.startswith("+"):
            kind = "add"
        elif line.startswith("-"):
            kind = "del"
        else:
            kind = "ctx"
        lines.append((kind, line))
    return lines


def citation(kb: KnowledgeBase | None, source_id: str) -> dict[str, Any]:
    """A source id as a reader sees it: its citation (and link) from the pack, or the id marked unknown."""
    source = kb.sources.get(source_id) if kb is not None else None
    if source is None:
        return {"id": source_id, "citation": f"{source_id} (not in the pack's sources)", "url": None}
    return {"id": source_id, "citation": source.citation, "url": source.url}


def word_diff(before: str, after: str) -> list[tuple[str, str]]:
    """(op, text) runs of a word-level diff: op is 'same', 'del' or 'ins'."""
    old, new = re.findall(r"\s+|\S+", before), re.findall(r"\s+|\S+", after)
    runs: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=old, b=new, autojunk=False).get_opcodes():
        if tag == "equal":
            runs.append(("same", "".join(old[i1:i2])))
            continue
        if i2 > i1:
            runs.append(("del", "".join(old[i1:i2])))
        if j2 > j1:
            runs.append(("ins", "".join(new[j1:j2])))
    return runs


def _as_yaml(value: Any) -> str:
    return yaml.safe_dump(value, sort_keys=False, allow_unicode=True, width=80).strip()


def _item(text: str | None) -> dict[str, Any]:
    """The one item of a YAML text (bare, or the pack's ``key: [item]`` shape); {} when it is not one."""
    with contextlib.suppress(yaml.YAMLError):
        doc = yaml.safe_load(text or "")
        if isinstance(doc, dict) and len(doc) == 1:
            (only,) = doc.values()
            if isinstance(only, list) and len(only) == 1 and isinstance(only[0], dict):
                doc = only[0]
        if isinstance(doc, dict):
            return doc
    return {}


def readable_changes(proposal: ProposalRecord, kb: KnowledgeBase | None) -> list[dict[str, Any]]:
    """Field by field, what the proposal changes: texts as word diffs, sources as citations, the rest as YAML."""
    before = _item(proposal.get("before_yaml") if "before_yaml" in proposal else proposal.get("live_yaml"))
    after = _item(proposal.get("yaml"))
    changes: list[dict[str, Any]] = []
    for field in [k for k in after if k != "review"] + [k for k in before if k not in after and k != "review"]:
        old, new = before.get(field), after.get(field)
        if old == new:
            continue
        change: dict[str, Any] = {"field": field, "label": field.replace("_", " ").capitalize()}
        if field == "sources" or (field.endswith("sources") and isinstance(new or old, list)):
            old_ids, new_ids = [str(x) for x in old or []], [str(x) for x in new or []]
            change["kind"] = "sources"
            change["added"] = [citation(kb, i) for i in new_ids if i not in old_ids]
            change["removed"] = [citation(kb, i) for i in old_ids if i not in new_ids]
            change["kept"] = [citation(kb, i) for i in new_ids if i in old_ids]
        elif isinstance(old, str | None) and isinstance(new, str | None) and (old or new):
            change["kind"] = "text"
            change["runs"] = word_diff(old or "", new or "")
        else:
            change["kind"] = "value"
            change["before"] = _as_yaml(old) if old is not None else None
            change["after"] = _as_yaml(new) if new is not None else None
        changes.append(change)
    return changes
