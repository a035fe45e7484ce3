"""Editorial content as YAML: parse and check a proposed item, diff it, validate a pack with it, export it."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from clinguide.editorial.errors import EditorialError, InvalidContent
from clinguide.editorial.models import ContentVersion, iso

SOURCE_ID = re.compile(r"S\d{2,3}[a-z]?|SEED\d{3}")


def dump(data: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, width=100)


@dataclass
class ParsedItem:
    kind: str
    item_id: str
    data: dict[str, Any]


def parse_item(kind: str, yaml_text: str) -> ParsedItem:
    """Parse one proposed item and check it against the pack's model for ``kind``.

    Accepts the bare item mapping or the pack's file shape holding exactly one item
    (``statements: [ {...} ]``). Errors name the field and what is accepted.
    """
    from pydantic import ValidationError

    from clinguide.kb.loader import EDITABLE, KINDS

    if kind not in EDITABLE:
        raise EditorialError(f"kind '{kind}' cannot be edited; accepted kinds: {', '.join(EDITABLE)}")
    try:
        doc = yaml.safe_load(yaml_text)
    except yaml.YAMLError as exc:
        raise EditorialError(f"the proposed item is not valid YAML: {exc}") from None
    key = KINDS[kind][1]
    if isinstance(doc, dict) and key and set(doc) == {key}:
        entries = doc[key]
        if not isinstance(entries, list) or len(entries) != 1:
            raise EditorialError(f"'{key}:' must hold exactly one item in a proposal")
        doc = entries[0]
    if not isinstance(doc, dict):
        raise EditorialError(f"the proposed item must be a YAML mapping (one {kind}), not {type(doc).__name__}")
    item_id = doc.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise EditorialError("the proposed item needs an 'id' (a string)")
    model = KINDS[kind][2]
    probe = dict(doc)
    probe["review"] = {"status": "submitted"}  # the review block is set on approval
    try:
        model.model_validate(probe)
    except ValidationError as exc:
        problems = [
            f"{kind} {item_id}: {'.'.join(str(p) for p in err['loc']) or '-'}: {err['msg']}" for err in exc.errors()
        ]
        raise InvalidContent(f"the proposed {kind} '{item_id}' does not fit the pack's model", problems) from None
    return ParsedItem(kind, item_id, doc)


def looks_like_source(value: str) -> bool:
    return SOURCE_ID.fullmatch(value) is not None


def without_review(yaml_text: str) -> str:
    """The item without its review block, which approval sets: the diff shows the content change only."""
    if not yaml_text:
        return ""
    try:
        doc = yaml.safe_load(yaml_text)
    except yaml.YAMLError:
        return yaml_text
    if isinstance(doc, dict) and "review" in doc:
        return dump({k: v for k, v in doc.items() if k != "review"})
    return yaml_text


def normalised(yaml_text: str) -> str:
    """The proposal as the store would serve it, for a like-for-like diff against the live YAML."""
    try:
        doc = yaml.safe_load(yaml_text)
    except yaml.YAMLError:
        return yaml_text
    if isinstance(doc, dict) and len(doc) == 1:
        (only,) = doc.values()
        if isinstance(only, list) and len(only) == 1 and isinstance(only[0], dict):
            doc = only[0]
    return dump(doc) if isinstance(doc, dict) else yaml_text


def content_diff(before: str, proposed: str, fromfile: str, tofile: str) -> str:
    """Unified diff of an item's served YAML against a proposal, review blocks left out on both sides."""
    return "".join(
        difflib.unified_diff(
            without_review(before).splitlines(keepends=True),
            without_review(normalised(proposed)).splitlines(keepends=True),
            fromfile=fromfile,
            tofile=tofile,
        )
    )


def shipped_item(pack_dir: Path, kind: str, item_id: str) -> dict[str, Any] | None:
    """The item as the shipped pack at ``pack_dir`` holds it, or None."""
    from clinguide.kb.loader import read_raw

    raw, _ = read_raw(pack_dir)
    for item in raw:
        if item.kind == kind and item.id == item_id:
            return item.data
    return None


def shipped_yaml(pack_dir: Path, kind: str, item_id: str) -> str | None:
    data = shipped_item(pack_dir, kind, item_id)
    return None if data is None else dump(data)


def validate_overlay(pack_dir: Path, overlay: dict[tuple[str, str], dict[str, Any]], what: str) -> None:
    """InvalidContent unless the pack overlaid with ``overlay`` loads strictly (models and cross-checks)."""
    from clinguide.kb.loader import PackError, load

    try:
        load(pack_dir, overlay=overlay, strict=True)
    except PackError as exc:
        problems = [str(p) for p in exc.problems]
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise InvalidContent(f"{what}: the pack with this change does not validate: {shown}", problems) from None


def export(rows: Iterable[ContentVersion], directory: Path) -> list[Path]:
    """Write live content versions back to YAML in the pack's file shape; list retired items in retired.yaml."""
    from clinguide.kb.loader import KINDS

    directory = Path(directory)
    written: list[Path] = []
    retired: list[dict[str, str]] = []
    for row in rows:
        if row.retired:
            retired.append({"kind": row.kind, "id": row.item_id})
            continue
        key = KINDS[row.kind][1] or row.kind
        path = directory / row.kind / f"{row.item_id}.yaml"
        path.parent.mkdir(parents=True, exist_ok=True)
        header = (
            f"# Approved editorial version {row.id} of {row.kind} '{row.item_id}' "
            f"(proposal {row.proposal_id}, approved by {row.approved_by} at {iso(row.approved_at)})\n"
        )
        body = yaml.safe_dump({key: [yaml.safe_load(row.yaml_text)]}, sort_keys=False, allow_unicode=True, width=100)
        path.write_text(header + body, encoding="utf-8")
        written.append(path)
    if retired:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / "retired.yaml"
        path.write_text(yaml.safe_dump({"retired": retired}, sort_keys=False), encoding="utf-8")
        written.append(path)
    return written
