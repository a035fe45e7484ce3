"""The audit summary as text (terminal) and as a self-contained, printable HTML page with inline SVG charts."""

from __future__ import annotations

import html
from collections import defaultdict
from typing import Any

SEVERITY_COLOURS = {"critical": "#b3261e", "warning": "#c77700", "info": "#4a6fa5"}
AGE_ORDER = ("0-17", "18-44", "45-64", "65-74", "75-84", "85+", "unknown")
LISTED_BAD = 10
# about the data rather than the patient: kept in the tables, left out of the age-band view
DATA_GAP_CODES = frozenset({"missing-data", "unknown-condition", "unknown-medication"})
LISTED_UNKNOWN = 10


REASON_ORDER = ("not eligible", "not in denominator", "excluded", "denominator only", "numerator")


def funnel(reasons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """COB outcomes in the order of the measure's steps (eligibility, denominator, exclusion, numerator)."""
    def rank(r: dict[str, Any]) -> tuple[int, str]:
        return next((i for i, p in enumerate(REASON_ORDER) if r["reason"].startswith(p)), 9), r["reason"]

    return sorted(reasons, key=rank)


def not_problems(s: dict[str, Any]) -> frozenset[str]:
    """Finding codes that are advice or say what could not be checked (the pack's audit groups), not problems."""
    groups = s["findings"].get("groups")
    if groups is None:  # a summary written before the groups
        return DATA_GAP_CODES
    return frozenset(groups.get("advice", [])) | frozenset(groups.get("not_checked", []))


def split_codes(rows: list[dict[str, Any]], others: frozenset[str] = DATA_GAP_CODES
                ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(problems found, advice and what could not be checked) of a by-code summary."""
    return [r for r in rows if r["code"] not in others], [r for r in rows if r["code"] in others]


def drugs_text(drugs: list[dict[str, Any]], listed: int = 4) -> str:
    text = ", ".join(f"{d['drug']} {d['findings']:,}" for d in drugs[:listed])
    return text + (f" and {len(drugs) - listed} more" if len(drugs) > listed else "")


def plural(count: int, word: str) -> str:
    return f"{count:,} {word}" + ("" if count == 1 else "s")


def pct(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def n(value: int | None) -> str:
    return f"{value or 0:,}"


# ----- text -----------------------------------------------------------------------------------------------


def render_text(s: dict[str, Any]) -> str:
    out: list[str] = []
    add = out.append
    add(f"Population audit — measurement year {s['year']} ({s['engine']}; knowledge {s['knowledge_version']})")
    add(f"Input: {s['input']}")
    if s.get("year_source", "--year") != "--year":
        add(f"Year {s['year']} is {s['year_source']}; give --year YYYY to choose another.")
    for note in s.get("notes", []):
        add(f"NOTE: {note}")
    add("")
    add("COB: concurrent opioid and benzodiazepine use (PQA measure, NQF/CBE 3389)")
    add(f"  Rate {pct(s['rate'])}: {n(s['numerator'])} of {n(s['denominator'])} patients in the denominator had "
        "30 or more days of overlap (lower is better).")
    add(f"  Eligible (18 or older on 1 January): {n(s['eligible'])}.  Met the opioid criteria: "
        f"{n(s['denominator_before_exclusions'])}; excluded for cancer, sickle cell disease or palliative care: "
        f"{n(s['excluded'])}.")
    add("  Patients by outcome:")
    for r in funnel(s["cob_reasons"]):
        add(f"    {r['patients']:>10,}  {r['reason']}")
    d = s["dispenses"]
    add("")
    add(f"Dispenses: {n(d['read'])} valid lines read; {n(d['completed_in_year'])} completed in {s['year']}; "
        + (f"{plural(d['checked'], 'dispense')} of pack drugs checked against the pack's rules "
           f"({plural(d['patients_checked'], 'patient')})." if s.get("checks", "run") == "run"
           else "the pack's rules were not run over them (--measure-only)."))
    other = [r for r in d["by_status"] if r["status"] != "completed"]
    if other:
        add("  Not counted (status): " + ", ".join(f"{r['status']} {n(r['dispenses'])}" for r in other) + ".")
    if d["resolved_by_name"]:
        add(f"  {n(d['resolved_by_name'])} dispenses were matched to a pack drug by product name "
            "(their RxNorm code is not in the pack's code index).")
    u = s["unknown_codes"]
    if u["dispenses"]:
        add(f"  Unknown medication codes: {plural(u['dispenses'], 'dispense')}, {plural(u['codes'], 'distinct code')} "
            "(not in the pack; not counted in the measure or checked):")
        for r in u["top"][:LISTED_UNKNOWN]:
            add(f"    {r['dispenses']:>8,}  {r['code'] or '(no RxNorm code)'}  {r['display'] or ''}".rstrip())
    b = s["bad_lines"]
    add("")
    if b["count"]:
        add(f"Bad lines: {n(b['count'])} skipped (the run continued). By problem:")
        for r in b["by_problem"]:
            add(f"    {r['lines']:>8,}  {r['resource']}: {r['problem']}")
        add("  First ones:")
        for r in b["first"][:LISTED_BAD]:
            add(f"    {r['file']}:{r['line']}  {r['problem']}")
    else:
        add("Bad lines: none.")
    f = s["findings"]
    others = not_problems(s)
    add("")
    add("The pack's rules over the dispenses of the year (what `clinguide check` would find):")
    safety, _ = split_codes(f["by_code"], others)
    if s.get("checks", "run") != "run":
        add("  Not run (--measure-only).")
    elif not safety:
        add("  No problems found.")
    for r in safety:
        add(f"  {r['findings']:>10,}  {r['severity']:<8}  {r['code']:<28} {plural(r['patients'], 'patient')}")
    titles = [r for r in f["by_title"] if r["code"] not in others]
    if titles:
        add("  Most frequent:")
        for r in titles[:10]:
            add(f"  {r['findings']:>10,}  {r['title']} ({r['code']})")
    if f.get("advice"):
        add("  Advice for the dispensing (not problems):")
        for r in f["advice"][:10]:
            add(f"  {r['findings']:>10,}  {r['title']} ({r['code']}, {plural(r['patients'], 'patient')})")
    if "not_checked" in f:
        if f["not_checked"]:
            add("  What could not be checked (the data or the pack's coverage, not patient problems):")
        for r in f["not_checked"][:10]:
            add(f"  {r['findings']:>10,}  {r['title']} — {drugs_text(r['drugs'])}")
    else:  # a summary written before the groups
        gap_titles = [r for r in f["by_title"] if r["code"] in DATA_GAP_CODES]
        if gap_titles:
            add("  What could not be checked (data gaps, not patient problems):")
        for r in gap_titles[:10]:
            add(f"  {r['findings']:>10,}  {r['title']}")
    add("")
    add("Top drugs dispensed in the year:")
    for r in f["top_drugs"][:10]:
        add(f"  {r['dispenses']:>10,}  {r['drug']} ({plural(r['patients'], 'patient')})")
    bands = _by_band(f["by_age_band"], others)
    if bands:
        add("")
        add("Safety findings (warning or critical) by age band:")
        for band in AGE_ORDER:
            if band in bands:
                add(f"  {band:<8} " + ", ".join(f"{code} {n(c)}" for code, c in bands[band]))
    if "tables" in s:
        add("")
        add("Written: summary.json, report.html, " + ", ".join(sorted(s["tables"].values())))
    return "\n".join(out)


def _by_band(rows: list[dict[str, Any]], others: frozenset[str]) -> dict[str, list[tuple[str, int]]]:
    bands: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for r in rows:
        if r["severity"] in ("warning", "critical") and r["code"] not in others:
            bands[r["age_band"]].append((r["code"], r["findings"]))
    return bands


# ----- HTML -----------------------------------------------------------------------------------------------


def _bar_chart(items: list[tuple[str, int, str]], width: int = 640, unit: str = "") -> str:
    """Horizontal bars: (label, value, colour)."""
    if not items:
        return "<p class='muted'>Nothing to show.</p>"
    bar_h, gap, label_w = 22, 6, 230
    top = max(v for _, v, _ in items) or 1
    height = len(items) * (bar_h + gap)
    parts = [f"<svg role='img' viewBox='0 0 {width} {height}' width='{width}' height='{height}' "
             "xmlns='http://www.w3.org/2000/svg' font-family='sans-serif' font-size='12'>"]
    for i, (label, value, colour) in enumerate(items):
        y = i * (bar_h + gap)
        w = max(1, int((width - label_w - 90) * value / top))
        parts.append(f"<text x='{label_w - 6}' y='{y + 15}' text-anchor='end'>{html.escape(label)}</text>")
        parts.append(f"<rect x='{label_w}' y='{y}' width='{w}' height='{bar_h}' fill='{colour}'/>")
        parts.append(f"<text x='{label_w + w + 6}' y='{y + 15}'>{value:,}{unit}</text>")
    parts.append("</svg>")
    return "".join(parts)


def _rate_chart(s: dict[str, Any]) -> str:
    """Stacked bar: numerator within the denominator, with excluded shown beside."""
    den, num, exc = s["denominator"] or 0, s["numerator"] or 0, s["excluded"] or 0
    total = max(den + exc, 1)
    width = 640
    w_num = int(width * num / total)
    w_rest = int(width * (den - num) / total)
    w_exc = width - w_num - w_rest if exc else 0
    return (
        f"<svg role='img' viewBox='0 0 {width} 70' width='{width}' height='70' xmlns='http://www.w3.org/2000/svg' "
        "font-family='sans-serif' font-size='12'>"
        f"<rect x='0' y='0' width='{w_num}' height='34' fill='#b3261e'/>"
        f"<rect x='{w_num}' y='0' width='{w_rest}' height='34' fill='#9bb6d9'/>"
        f"<rect x='{w_num + w_rest}' y='0' width='{w_exc}' height='34' fill='#d9d9d9'/>"
        f"<text x='0' y='52'>■ numerator {num:,}</text>"
        f"<text x='160' y='52' fill='#4a6fa5'>■ denominator, not numerator {den - num:,}</text>"
        f"<text x='420' y='52' fill='#777'>■ excluded {exc:,}</text>"
        "</svg>")


def _table(headers: list[str], rows: list[list[Any]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    head = "".join(f"<th{' class=num' if i in numeric else ''}>{html.escape(h)}</th>" for i, h in enumerate(headers))
    body = []
    for row in rows:
        cells = []
        for i, value in enumerate(row):
            text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else html.escape(
                "" if value is None else str(value))
            cells.append(f"<td{' class=num' if i in numeric else ''}>{text}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif;margin:24px auto;
max-width:980px;
color:#1d1d1f;line-height:1.4;padding:0 16px}
h1{font-size:1.5em;margin-bottom:0}h2{font-size:1.15em;border-bottom:2px solid #ddd;padding-bottom:3px;margin-top:28px}
.muted{color:#666}.big{font-size:2.4em;font-weight:700;margin:0}.kpis{display:flex;gap:18px;flex-wrap:wrap}
.kpi{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:120px}.kpi b{display:block;font-size:1.3em}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:.92em}th,td{border-bottom:1px solid #e4e4e4;
padding:4px 6px;text-align:left;vertical-align:top}th{background:#f4f4f4}.num{text-align:right;
font-variant-numeric:tabular-nums}
.sev-critical{color:#b3261e;font-weight:600}.sev-warning{color:#8a5300}.note{background:#f7f7f2;border-left:4px solid
#c9c1a0;padding:6px 10px;font-size:.9em}
@media print{body{margin:0;max-width:none}h2{break-after:avoid}table,svg{break-inside:avoid}a{color:inherit}}
"""


def render_html(s: dict[str, Any]) -> str:
    f = s["findings"]
    d = s["dispenses"]
    b = s["bad_lines"]
    u = s["unknown_codes"]
    esc = html.escape
    others = not_problems(s)
    safety, _others = split_codes(f["by_code"], others)
    code_items = [(f"{r['code']} ({r['severity']})", r["findings"], SEVERITY_COLOURS.get(r["severity"], "#888"))
                  for r in safety]
    band_totals: dict[str, int] = defaultdict(int)
    for r in f["by_age_band"]:
        if r["severity"] in ("warning", "critical") and r["code"] not in others:
            band_totals[r["age_band"]] += r["findings"]
    band_items = [(band, band_totals[band], "#c77700") for band in AGE_ORDER if band in band_totals]
    drug_items = [(r["drug"], r["dispenses"], "#4a6fa5") for r in f["top_drugs"][:12]]
    codes_in_bands = sorted({r["code"] for r in f["by_age_band"]
                             if r["severity"] in ("warning", "critical") and r["code"] not in others})
    matrix: dict[tuple[str, str], int] = defaultdict(int)
    for r in f["by_age_band"]:
        matrix[(r["age_band"], r["code"])] += r["findings"]
    bands_present = [band for band in AGE_ORDER if any(matrix.get((band, c)) for c in codes_in_bands)]
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>Population audit {s['year']} — clinguide</title><style>{CSS}</style></head><body>",
        f"<h1>Population audit — measurement year {s['year']}</h1>",
        f"<p class='muted'>Input {esc(s['input'])} · year {s['year']} "
        f"({'set with --year' if s.get('year_source', '--year') == '--year' else esc(s['year_source'])}) · "
        f"engine {esc(s['engine'])} · knowledge pack "
        f"{esc(s['knowledge_version'])}</p>",
        *(f"<p class='note'><b>Note:</b> {esc(note)}</p>" for note in s.get("notes", [])),
        "<h2>Concurrent use of opioids and benzodiazepines (PQA COB, NQF/CBE 3389)</h2>",
        f"<p class='big'>{pct(s['rate'])}</p><p>{s['numerator']:,} of the {s['denominator']:,} adults in the "
        "denominator (opioid criteria met, not excluded) had 30 or more days on which an opioid and a "
        "benzodiazepine were both covered. Lower is better.</p>",
        _rate_chart(s),
        "<div class='kpis'>",
        *(f"<div class='kpi'><span class='muted'>{label}</span><b>{value:,}</b></div>" for label, value in (
            ("Eligible adults", s["eligible"]), ("Met opioid criteria", s["denominator_before_exclusions"]),
            ("Excluded", s["excluded"]), ("Denominator", s["denominator"]), ("Numerator", s["numerator"]))),
        "</div>",
        "<p class='note'>Eligible: 18 or older on 1 January. Denominator: 2 or more opioid dispensing dates in the "
        "year and 15 or more days' supply, less patients with cancer, sickle cell disease or palliative care. "
        "Numerator: also 2 or more benzodiazepine dispensing dates and 30 or more days of overlap. Opioids and "
        "benzodiazepines are the knowledge pack's classes, not PQA's licensed medication lists.</p>",
        _table(["Outcome", "Patients"], [[r["reason"], r["patients"]] for r in funnel(s["cob_reasons"])], {1}),
        "<h2>The pack's rules over the year's dispenses</h2>",
        (f"<p>{d['checked']:,} dispenses of pack drugs ({d['patients_checked']:,} patients) went through the same "
         "checks as <code>clinguide check</code>, with the patient's age on the dispense date and the other drugs "
         "covered that day.</p>" if s.get("checks", "run") == "run"
         else "<p>Not run: this audit computed the measure only (<code>--measure-only</code>).</p>"),
        _bar_chart(code_items),
        _table(["Finding", "Severity", "Findings", "Dispenses", "Patients"],
               [[r["code"], r["severity"], r["findings"], r["dispenses"], r["patients"]] for r in safety],
               {2, 3, 4}),
        "<h3>Most frequent findings</h3>",
        _table(["Finding", "Title", "Count"], [[r["code"], r["title"], r["findings"]] for r in f["by_title"]
                                               if r["code"] not in others][:12], {2}),
        ("<h3>Advice for the dispensing</h3><p class='muted'>Not problems: what the pack advises with these "
         "dispenses (such as how to stop a course).</p>"
         + _table(["Finding", "Title", "Count", "Patients"],
                  [[r["code"], r["title"], r["findings"], r["patients"]] for r in f["advice"][:12]], {2, 3})
         if f.get("advice") else ""),
        "<h3>What could not be checked</h3><p class='muted'>Not patient problems: the pack has no rule for it "
        "(no dose limits for the drug, no rules for children) or the dispense lacks what a check needs.</p>",
        (_table(["Title", "Count", "Drugs"], [[r["title"], r["findings"], drugs_text(r["drugs"], 6)]
                                              for r in f["not_checked"]], {1})
         if "not_checked" in f else
         _table(["Title", "Severity", "Count"], [[r["title"], r["severity"], r["findings"]] for r in f["by_title"]
                                                 if r["code"] in DATA_GAP_CODES], {2})),
        "<h3>Safety findings (warning or critical) by age band</h3>",
        _bar_chart(band_items),
        _table(["Age band", *codes_in_bands], [[band, *(matrix.get((band, c), 0) for c in codes_in_bands)]
                                               for band in bands_present], set(range(1, len(codes_in_bands) + 1))),
        "<h3>Top drugs dispensed</h3>",
        _bar_chart(drug_items),
        "<h2>Data quality</h2>",
        f"<p>{d['read']:,} dispenses read; {d['completed_in_year']:,} completed in {s['year']}.",
        (" Not counted by status: " + ", ".join(f"{esc(r['status'])} {r['dispenses']:,}" for r in d["by_status"]
                                               if r["status"] != "completed") + "." if any(
            r["status"] != "completed" for r in d["by_status"]) else ""),
        (f" {d['resolved_by_name']:,} dispenses were matched by product name (code not in the pack's index)."
         if d["resolved_by_name"] else ""),
        "</p>",
        (f"<p><b>Unknown medication codes:</b> {plural(u['dispenses'], 'dispense')}, "
         f"{plural(u['codes'], 'distinct code')} — not "
         "counted in the measure and not checked.</p>" + _table(
             ["RxNorm code", "Display", "Dispenses", "Patients"],
             [[r["code"] or "(none)", r["display"], r["dispenses"], r["patients"]] for r in u["top"][:20]], {2, 3})
         if u["dispenses"] else "<p>Unknown medication codes: none.</p>"),
        (f"<p><b>Bad lines:</b> {b['count']:,} skipped; the run continued.</p>"
         + _table(["Resource", "Problem", "Lines"],
                  [[r["resource"], r["problem"], r["lines"]] for r in b["by_problem"]], {2})
         + _table(["File", "Line", "Problem"], [[r["file"], r["line"], r["problem"]] for r in b["first"][:25]], {1})
         if b["count"] else "<p>Bad lines: none.</p>"),
        _table(["Resource", "File", "Lines", "Blank", "Bad"],
               [[r["resource"], r["file"], r["lines"], r["blank"], r["bad"]] for r in s["files"]], {2, 3, 4}),
        "<p class='muted'>clinguide population audit. Offline; figures from the input files named above. "
        "Decision support, not a substitute for clinical judgement.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)
