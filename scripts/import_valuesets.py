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


DEFAULT_EXTRA = REPO.parent / "shared" / "interop" / "valuesets-extra"
QICORE = "cqframework/ecqm-content-qicore-2024@9ebd48ffeb input/vocabulary/valueset/external/valueset-{oid}.json"
R4_2021 = "cqframework/ecqm-content-r4-2021@0be9c68646 input/vocabulary/valueset/external/valueset-{oid}.json"


@dataclass(frozen=True)
class ListSpec:
    """Provenance of one value-set file: the list id is the file stem."""

    title: str
    source: str
    upstream: str = UPSTREAM
    expansion: str = EXPANSION
    extra: bool = False  # in shared/interop/valuesets-extra rather than the Rec 11 folder
    only: tuple[str, ...] = ()  # keep only products with one of these drugs (a broad set serving a few drugs)


def _extra(title: str, source: str, upstream: str, expansion: str, only: tuple[str, ...] = ()) -> ListSpec:
    return ListSpec(title, source, upstream, expansion, extra=True, only=only)


LISTS: dict[str, ListSpec] = {
    "benzodiazepine-medications": ListSpec("Benzodiazepine medications (RxNorm products)", "S81"),
    "opioid-analgesics-with-ambulatory-misuse-potential": ListSpec(
        "Opioid analgesics with ambulatory misuse potential (RxNorm products)", "S59"
    ),
    "cns-depressant-medications": ListSpec("CNS depressant medications (RxNorm products)", "S86"),
    # valuesets-extra (see its README): muscle relaxants, ketorolac, gabapentinoids, antihypertensives.
    # The two code-only AHRQ sets (nonopioid / adjuvant pain medications) have no displays for most
    # rows, so their ingredients cannot be matched and they are not imported.
    "potentially-harmful-skeletal-muscle-relaxants-for-older-adults": _extra(
        "Potentially harmful skeletal muscle relaxants for older adults (VSAC 2.16.840.1.113883.3.464.1003.1062)",
        "VS01", QICORE.format(oid="2.16.840.1.113883.3.464.1003.1062"), "2025-01-10 (VS version 20240123)"),
    "potentially-harmful-pain-medications-for-older-adults": _extra(
        "Potentially harmful pain medications for older adults (VSAC 2.16.840.1.113883.3.464.1003.1063)",
        "VS01", QICORE.format(oid="2.16.840.1.113883.3.464.1003.1063"), "2025-01-10 (VS version 20240123)"),
    "central-nervous-system-depressants": _extra(
        "Central nervous system depressants (VSAC 2.16.840.1.113762.1.4.1248.134)",
        "VS01", QICORE.format(oid="2.16.840.1.113762.1.4.1248.134"), "2025-01-10 (VS version 20240119)",
        only=("gabapentin", "pregabalin")),
    "ambulatory-setting-non-opioid-cns-depressant-medications": _extra(
        "Ambulatory setting non-opioid CNS depressant medications (CDC opioid CDS, archived)", "VS04",
        "cqframework/opioid-cds-r4@b29bdcbf6d archive/input/vocabulary/valueset/archive/"
        "non-opioid-cns-depressant-medications.json", "2023-05-25 (RxNorm 2023-03)",
        only=("cyclobenzaprine", "gabapentin", "pregabalin")),
    "antihypertensives": _extra(
        "Antihypertensives (VSAC 2.16.840.1.113762.1.4.1248.164)", "VS02",
        QICORE.format(oid="2.16.840.1.113762.1.4.1248.164"), "2025-01-10 (VS version 20240120)"),
    "pharmacologic-therapy-for-hypertension": _extra(
        "Pharmacologic therapy for hypertension (VSAC 2.16.840.1.113883.3.526.1577)", "VS02",
        QICORE.format(oid="2.16.840.1.113883.3.526.1577"), "2025-01-10 (VS version 20210220)"),
    "clonidine": _extra("Clonidine (VSAC 2.16.840.1.113883.3.464.1003.1171)", "VS02",
                        QICORE.format(oid="2.16.840.1.113883.3.464.1003.1171"), "2025-01-10 (VS version 20240119)"),
    "diuretics": _extra("Diuretics (VSAC 2.16.840.1.113762.1.4.1248.170)", "VS02",
                        QICORE.format(oid="2.16.840.1.113762.1.4.1248.170"), "2025-01-10 (VS version 20240118)"),
    "ace-inhibitor-or-arb-or-arni": _extra(
        "ACE inhibitor or ARB or ARNI (VSAC 2.16.840.1.113883.3.526.3.1139)", "VS02",
        QICORE.format(oid="2.16.840.1.113883.3.526.3.1139"), "2025-01-10 (VS version 20210218)"),
    "beta-blocker-therapy": _extra(
        "Beta blocker therapy (VSAC 2.16.840.1.113883.3.526.3.1174)", "VS02",
        QICORE.format(oid="2.16.840.1.113883.3.526.3.1174"), "2025-01-10 (VS version 20210303)"),
    "cyclobenzaprine-hydrochloride": _extra(
        "Cyclobenzaprine hydrochloride (VSAC 2.16.840.1.113883.3.464.1003.196.12.1372)", "VS03",
        R4_2021.format(oid="2.16.840.1.113883.3.464.1003.196.12.1372"), "2021-07-19 (VS version 20170504)"),
    "carisoprodol": _extra(
        "Carisoprodol (VSAC 2.16.840.1.113883.3.464.1003.196.12.1369)", "VS03",
        R4_2021.format(oid="2.16.840.1.113883.3.464.1003.196.12.1369"), "2021-07-19 (VS version 20170504)"),
    "methocarbamol": _extra(
        "Methocarbamol (VSAC 2.16.840.1.113883.3.464.1003.196.12.1370)", "VS03",
        R4_2021.format(oid="2.16.840.1.113883.3.464.1003.196.12.1370"), "2021-07-19 (VS version 20170504)"),
    "metaxalone": _extra(
        "Metaxalone (VSAC 2.16.840.1.113883.3.464.1003.196.12.1358)", "VS03",
        R4_2021.format(oid="2.16.840.1.113883.3.464.1003.196.12.1358"), "2021-07-19 (VS version 20170504)"),
    "chlorzoxazone": _extra(
        "Chlorzoxazone (VSAC 2.16.840.1.113883.3.464.1003.196.12.1362)", "VS03",
        R4_2021.format(oid="2.16.840.1.113883.3.464.1003.196.12.1362"), "2021-07-19 (VS version 20170504)"),
    "orphenadrine": _extra(
        "Orphenadrine (VSAC 2.16.840.1.113883.3.464.1003.196.12.1302)", "VS03",
        R4_2021.format(oid="2.16.840.1.113883.3.464.1003.196.12.1302"), "2021-07-19 (VS version 20170504)"),
    "ketorolac-tromethamine": _extra(
        "Ketorolac tromethamine (VSAC 2.16.840.1.113883.3.464.1003.196.12.1364)", "VS03",
        R4_2021.format(oid="2.16.840.1.113883.3.464.1003.196.12.1364"), "2021-07-19 (VS version 20170504)"),
}

_EXTENDED = re.compile(r"\bExtended Release\b", re.IGNORECASE)
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
    partial = left_out = skipped = 0
    for code, display in read_tsv(path):
        drugs, unknown = matcher.ingredients(display)
        if spec.only and not set(drugs) & set(spec.only):
            skipped += 1  # a broad set imported only for the drugs it serves (see LISTS)
            continue
        if not drugs:
            left_out += 1
            print(f"{path.name}: {code} left out, no known ingredient: {display}", file=sys.stderr)
            continue
        if unknown:
            partial += 1
            print(f"{path.name}: {code} unknown ingredient(s) {unknown} in: {display}", file=sys.stderr)
        extended = bool(_EXTENDED.search(display))
        products.append(CodedProduct(code=code, display=display, drugs=drugs, extended_release=extended))
    code_list = CodeList(
        id=path.stem,
        title=spec.title + (f"; only the products of {', '.join(spec.only)}" if spec.only else ""),
        source=spec.source,
        origin=f"{path.name} (upstream: {spec.upstream.format(stem=path.stem)})",
        expansion=spec.expansion,
        imported=imported,
        products=products,
    )
    if skipped:
        print(f"{path.name}: {skipped} products without {', '.join(spec.only)} not imported", file=sys.stderr)
    return code_list, partial, left_out


def write_list(code_list: CodeList, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{code_list.id}.yaml"
    header = "# Generated by scripts/import_valuesets.py - do not edit by hand; re-run the script.\n"
    data = code_list.model_dump(mode="json", exclude_defaults=True)
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    target.write_text(header + body, encoding="utf-8")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("valuesets", nargs="?", type=Path, default=DEFAULT_VALUESETS, help="folder of the TSV files")
    parser.add_argument("--extra", type=Path, default=DEFAULT_EXTRA, help="folder of the extra TSV files")
    parser.add_argument("--pack", type=Path, default=DEFAULT_PACK, help="knowledge pack folder")
    parser.add_argument("--imported", type=dt.date.fromisoformat, default=dt.date.today(), help="import date")
    args = parser.parse_args(argv)

    if not args.valuesets.is_dir():
        print(f"error: value-set folder not found: {args.valuesets}", file=sys.stderr)
        return 2
    matcher = Matcher(load_names(args.pack))
    status = 0
    if not args.extra.is_dir():
        print(f"error: value-set folder not found: {args.extra}", file=sys.stderr)
        return 2
    for stem, spec in LISTS.items():
        path = (args.extra if spec.extra else args.valuesets) / f"{stem}.tsv"
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
