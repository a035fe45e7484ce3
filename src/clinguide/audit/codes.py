"""Medication codes to pack drugs and classes, through the pack's RxNorm code index.

A code maps to EVERY drug the index returns (a combination product resolves to all its
ingredients); each drug's classes include its components' classes. A code the index does not
know is tried once by the product name written beside it (exact names only, never fuzzy);
what still does not resolve is reported as an unknown code, never dropped silently.
Only distinct (code, display) pairs reach Python: a population has a few thousand at most.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from clinguide.kb.knowledge import KnowledgeBase

OPIOID_CLASS = "opioid"
BENZODIAZEPINE_CLASS = "benzodiazepine"
_BEFORE_STRENGTH = re.compile(r"^\D*?(?=\s+\d)")


@dataclass(frozen=True)
class Resolved:
    code: str
    display: str
    drug_id: str | None  # None: unknown code
    opioid: bool
    benzodiazepine: bool
    how: str  # "rxnorm" | "name" | "unknown"


def _by_name(kb: KnowledgeBase, display: str) -> str | None:
    text = display.strip()
    if not text:
        return None
    candidates = [text]
    cut = _BEFORE_STRENGTH.match(text)
    if cut and cut.group(0).strip():
        candidates.append(cut.group(0).strip())  # "cyclobenzaprine hydrochloride 10 MG Oral Tablet"
    candidates.append(text.split()[0])
    for candidate in candidates:
        match = kb.resolve_drug(candidate, fuzzy=False)
        if match is not None:
            return str(match.id)
    return None


def resolve_codes(kb: KnowledgeBase, pairs: Iterable[tuple[str | None, str | None]]) -> list[Resolved]:
    """One row per (code, display, drug): several rows for a combination product, one 'unknown' row otherwise."""
    out: list[Resolved] = []
    for code, display in pairs:
        code_s, display_s = (code or "").strip(), (display or "").strip()
        drugs: tuple[str, ...] = kb.drugs_by_rxnorm(code_s) if code_s else ()
        how = "rxnorm"
        if not drugs:
            by_name = _by_name(kb, display_s)
            drugs, how = ((by_name,), "name") if by_name else ((), "unknown")
        if not drugs:
            out.append(Resolved(code_s, display_s, None, False, False, "unknown"))
            continue
        for drug_id in dict.fromkeys(drugs):
            classes = kb.drug_classes(drug_id)
            out.append(Resolved(code_s, display_s, drug_id, OPIOID_CLASS in classes,
                                BENZODIAZEPINE_CLASS in classes, how))
    return out
