"""Small readers of FHIR primitive values shared by the fhir modules."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any


def as_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def fmt_number(number: float) -> str:
    return f"{number:g}"


def concept_texts(concept: dict[str, Any] | None) -> list[str]:
    """A CodeableConcept's text and codings' displays, in that order."""
    if not concept:
        return []
    out = [concept["text"]] if concept.get("text") else []
    out += [c["display"] for c in concept.get("coding", []) if c.get("display")]
    return out


def parse_date(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        if len(value) == 4:
            return dt.datetime(int(value), 7, 1, tzinfo=dt.UTC)
        if len(value) == 7:
            return dt.datetime(int(value[:4]), int(value[5:7]), 15, tzinfo=dt.UTC)
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
