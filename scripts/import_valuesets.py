"""Import the CDC/cqframework RxNorm value sets into the knowledge pack as code lists.

Reads the TSV expansions (columns: system, code, display) and writes
``src/clinguide/knowledge/codes/<list-id>.yaml`` (model ``CodeList``). Each product's
ingredients are found by matching the pack's drug ids, names and synonyms (from
``agents/*.yaml`` and ``drugs/*.yaml``) as whole words in the display, longest names
first, so salt words ("hydrochloride", "bitartrate") never block a match.

A product none of whose ingredients is known is left out; an ingredient that is not
known is reported on stderr (the product keeps the ingredients that are known).

Usage: ``.venv/bin/python scripts/import_valuesets.py [VALUESET_DIR] [--pack DIR] [--imported YYYY-MM-DD]``
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from clinguide.kb.models import CodedProduct, CodeList

REPO = Path(__file__).resolve().parent.parent
DEFAULT_VALUESETS = REPO.parent / "shared" / "interop" / "opioid-cds-rec11" / "valuesets"
DEFAULT_PACK = REPO / "src" / "clinguide" / "knowledge"
UPSTREAM = "cqframework/opioid-cds-r4 input/vocabulary/valueset/{stem}.json"
EXPANSION = "2025-02"


@dataclass(frozen=True)
class ListSpec:
    """Provenance of one value-set file: the list id is the file stem."""

    title: str
    source: str


LISTS: dict[str, ListSpec] = {
    "benzodiazepine-medications": ListSpec("Benzodiazepine medications (RxNorm products)", "S81"),
    "opioid-analgesics-with-ambulatory-misuse-potential": ListSpec(
        "Opioid analgesics with ambulatory misuse potential (RxNorm products)", "S59"
    ),
    "cns-depressant-medications": ListSpec("CNS depressant medications (RxNorm products)", "S86"),
}

_BRACKETS = re.compile(r"\[[^\]]*\]")
_LEADING = re.compile(r"^[\s{(]*(?:\d+\s*(?:\(|hr\b)?\s*)*")


def load_names(pack: Path) -> dict[str, str]:
    """Every lower-case id, name and synonym of the pack's drugs and agents -> drug id.

    Combination products (items with ``components``) are skipped: the display lists
    ingredients, which map to the single-ingredient ids.
    """
    names: dict[str, str] = {}
    for folder in ("drugs", "agents"):
        for path in sorted((pack / folder).glob("*.yaml")):
            doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for drug in doc.get("drugs", []):
                if drug.get("components"):
                    continue
                for name in [drug["id"], drug["name"], *drug.get("synonyms", [])]:
                    key = " ".join(str(name).lower().split())
                    previous = names.setdefault(key, drug["id"])
                    if previous != drug["id"]:
                        print(f"warning: name '{key}' is used by {previous} and {drug['id']}", file=sys.stderr)
    return names


class Matcher:
    """Finds drug ids in a product display by whole-word name matches, longest name first."""

    def __init__(self, names: dict[str, str]):
        ordered = sorted(names, key=len, reverse=True)
        self._names = names
        self._pattern = re.compile(r"\b(" + "|".join(re.escape(n) for n in ordered) + r")\b")

    def ingredients(self, display: str) -> tuple[list[str], list[str]]:
        """(matched drug ids in order, ingredient segments with no match)."""
        text = _BRACKETS.sub(" ", display.lower())
        found: list[str] = []
        unknown: list[str] = []
        for segment in text.split(" / "):
            ids = [self._names[m.group(1)] for m in self._pattern.finditer(segment)]
            if not ids:
                name = re.split(r"\s\d", _LEADING.sub("", segment).strip())[0]
                unknown.append(name.strip(" {}()") or segment.strip())
            for drug_id in ids:
                if drug_id not in found:
                    found.append(drug_id)
        return found, unknown


def read_tsv(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(handle, delimiter="\t")
        return [(row["code"].strip(), row["display"].strip()) for row in rows]


def import_list(path: Path, spec: ListSpec, matcher: Matcher, imported: dt.date) -> tuple[CodeList, int, int]:
    """The code list of one file, with counts of partly matched and left-out products."""
    products: list[CodedProduct] = []
    partial = left_out = 0
    for code, display in read_tsv(path):
        drugs, unknown = matcher.ingredients(display)
        if not drugs:
            left_out += 1
            print(f"{path.name}: {code} left out, no known ingredient: {display}", file=sys.stderr)
            continue
        if unknown:
            partial += 1
            print(f"{path.name}: {code} unknown ingredient(s) {unknown} in: {display}", file=sys.stderr)
        products.append(CodedProduct(code=code, display=display, drugs=drugs))
    code_list = CodeList(
        id=path.stem,
        title=spec.title,
        source=spec.source,
        origin=f"{path.name} (upstream: {UPSTREAM.format(stem=path.stem)})",
        expansion=EXPANSION,
        imported=imported,
        products=products,
    )
    return code_list, partial, left_out


def write_list(code_list: CodeList, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{code_list.id}.yaml"
    header = "# Generated by scripts/import_valuesets.py - do not edit by hand; re-run the script.\n"
    body = yaml.safe_dump(code_list.model_dump(mode="json"), sort_keys=False, allow_unicode=True, width=120)
    target.write_text(header + body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("valuesets", nargs="?", type=Path, default=DEFAULT_VALUESETS, help="folder of the TSV files")
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK, help="knowledge pack folder")
    parser.add_argument("--imported", type=dt.date.fromisoformat, default=dt.date.today(), help="import date")
    args = parser.parse_args(argv)

    if not args.valuesets.is_dir():
        print(f"error: value-set folder not found: {args.valuesets}", file=sys.stderr)
        return 2
    matcher = Matcher(load_names(args.pack))
    status = 0
    for stem, spec in LISTS.items():
        path = args.valuesets / f"{stem}.tsv"
        if not path.is_file():
            print(f"error: missing value-set file {path}", file=sys.stderr)
            status = 2
            continue
        code_list, partial, left_out = import_list(path, spec, matcher, args.imported)
        target = write_list(code_list, args.pack / "codes")
        print(
            f"{stem}: {len(code_list.products)} products written to {target.relative_to(args.pack)} "
            f"({partial} with an unknown ingredient, {left_out} left out)"
        )
    return status


if __name__ == "__main__":
    raise SystemExit(main())
