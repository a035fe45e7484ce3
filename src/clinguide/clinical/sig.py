"""Parse prescription sigs and order fields: dose, unit, frequency, prn, duration, route.

The parser knows prescription grammar only (abbreviations, units, numbers); it knows no
drug and no clinical limit. Its single documented exception is :class:`SigParseError`.

Units go through ``clinguide.clinical.units``: milligrams are used as written; grams and
micrograms are converted by its fixed factors. A unit that is not a mass (mL, tablets, units,
drops) is kept as ``unit_kind = "non-mass"`` and never converted: the dose check reports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from clinguide.clinical.units import MASS_WORDS, sig_days, to_mg

MAX_DAYS = 3650


class SigParseError(ValueError):
    """The sig or an order field could not be understood. ``field`` names the part."""

    def __init__(self, field_name: str, message: str):
        self.field = field_name
        self.message = message
        super().__init__(f"{field_name}: {message}")


_WORDS = {
    "one": 1, "once": 1, "two": 2, "twice": 2, "three": 3, "thrice": 3, "four": 4, "five": 5,
    "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fourteen": 14, "twenty": 20, "thirty": 30, "a": 1, "an": 1,
}  # fmt: skip
_FRACTIONS = {"½": 0.5, "half": 0.5, "one-half": 0.5, "one half": 0.5, "¼": 0.25, "¾": 0.75}
_UNIT_NUM = r"(?:\d+/\d+|½|¼|¾|one[- ]half|half|\d+(?:\.\d+)?|\.\d+|one|two|three|four)"
_NUM = r"(?:\d+(?:\.\d+)?|\.\d+|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fourteen|twenty|thirty)"

_MASS_UNITS = MASS_WORDS  # unit token -> canonical mass unit (clinical/units.py)
_OTHER_UNITS = (
    "ml|mls|millilitres?|milliliters?|cc|l|litres?|liters?|tabs?|tablets?|caps?|capsules?|pills?|"
    "units?|iu|u|drops?|gtts?|puffs?|sprays?|patch(?:es)?|suppositor(?:y|ies)|teaspoons?|tsp|tablespoons?|tbsp|"
    "mmol|meq|%"
)
_UNIT = "|".join(sorted((re.escape(u) for u in _MASS_UNITS), key=len, reverse=True)) + "|" + _OTHER_UNITS
_DOSE = re.compile(
    rf"(?<![\w.])(?P<lo>{_NUM})\s*(?:(?:-|–|—|to|or)\s*(?P<hi>{_NUM}))?\s*(?P<unit>{_UNIT})(?![\w])",
    re.IGNORECASE,
)
_BARE_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?:/\d+(?:\.\d+)?)*(?![\w])")
_COMBO_STRENGTH = re.compile(r"\b\d+(?:\.\d+)?\s*/\s*\d+(?:\.\d+)?(?:\s*mg)?\b", re.IGNORECASE)

_PRN = re.compile(r"\b(?:prn|p\.r\.n\.?|as needed|as required|when needed|if needed|as necessary)\b", re.IGNORECASE)
_ER = re.compile(r"\b(?:er|xr|xl|sr|cr|extended[- ]release|ext\.? rel\.?|sustained[- ]release|controlled[- ]release)\b",
                 re.IGNORECASE)

_ROUTES = [
    (re.compile(r"\b(?:po|p\.o\.|oral(?:ly)?|by mouth|per os)\b", re.I), "oral"),
    (re.compile(r"\b(?:iv|i\.v\.|intravenous(?:ly)?)\b", re.I), "intravenous"),
    (re.compile(r"\b(?:im|i\.m\.|intramuscular(?:ly)?)\b", re.I), "intramuscular"),
    (re.compile(r"\b(?:pr|rectal(?:ly)?|per rectum)\b", re.I), "rectal"),
    (re.compile(r"\b(?:sl|sublingual(?:ly)?)\b", re.I), "sublingual"),
    (re.compile(r"\b(?:intranasal(?:ly)?|nasal(?:ly)?)\b", re.I), "intranasal"),
    (re.compile(r"\b(?:topical(?:ly)?)\b", re.I), "topical"),
    (re.compile(r"\b(?:sc|sq|subcut|subcutaneous(?:ly)?)\b", re.I), "subcutaneous"),
]
_ROUTE_WORDS = {
    "oral": "oral", "po": "oral", "by mouth": "oral", "orally": "oral", "p.o.": "oral",
}  # fmt: skip

_DURATION = re.compile(
    rf"(?:\b(?:x|for|times|during)\s*|×\s*|\bx(?=\d))(?P<n>{_NUM})\s*"
    r"(?P<unit>d|days?|dys?|w|wks?|weeks?|mo|mos|months?)\b",
    re.IGNORECASE,
)
_DURATION_BARE = re.compile(rf"(?<![\w.])(?P<n>{_NUM})\s*(?P<unit>days?|weeks?|wks?|months?)\b", re.IGNORECASE)
_DURATION_ONE = re.compile(r"\bfor (?:a|one) (?P<unit>day|week|month)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Frequency:
    """How often: doses per day (the most frequent reading of a range) and words for people."""

    doses_per_day: float
    text: str
    interval_hours: tuple[float, float] | None = None
    up_to: bool = False
    how: str = ""


# (pattern, doses per day, words); checked in order, first match wins
_FIXED: list[tuple[re.Pattern[str], float, str]] = [
    (re.compile(r"\b(?:qid|q\.i\.d\.?|four times (?:a |per |each )?da(?:y|ily)|4 ?x ?(?:a |per |/ ?)?day|4 times (?:a |per )?da(?:y|ily))\b", re.I), 4, "4 times a day"),  # noqa: E501
    (re.compile(r"\b(?:tid|t\.i\.d\.?|three times (?:a |per |each )?da(?:y|ily)|3 ?x ?(?:a |per |/ ?)?day|3 times (?:a |per )?da(?:y|ily)|thrice daily)\b", re.I), 3, "3 times a day"),  # noqa: E501
    (re.compile(r"\b(?:bid|b\.i\.d\.?|twice (?:a |per |each )?da(?:y|ily)|two times (?:a |per )?da(?:y|ily)|2 ?x ?(?:a |per |/ ?)?day|2 times (?:a |per )?da(?:y|ily)|every 12 hours?)\b", re.I), 2, "twice a day"),  # noqa: E501
    (re.compile(r"\b(?:qod|every other day|alternate days)\b", re.I), 0.5, "every other day"),
    (re.compile(r"\b(?:weekly|once a week|every week|q ?week|qwk)\b", re.I), 1 / 7, "once a week"),
    (re.compile(r"\b(?:qhs|q\.h\.s\.?|hs|h\.s\.|at bedtime|at night|nightly|every night|before bed(?:time)?|bedtime)\b", re.I), 1, "at bedtime"),  # noqa: E501
    (re.compile(r"\b(?:qd|q\.d\.|od|o\.d\.|daily|once (?:a |per |each )?day|once daily|every day|1 ?x ?(?:a |per |/ ?)?day|qam|q\.a\.m\.|every morning|in the morning|qpm|every evening|q ?24 ?h(?:rs?|ours?)?|every 24 hours?|per day|a day)\b", re.I), 1, "once a day"),  # noqa: E501
    (re.compile(r"\b(?:once|stat|x ?1 dose|one dose|single dose)\b", re.I), 1, "once"),
]
_INTERVAL = re.compile(
    rf"\b(?:q|every|each)\s*(?P<lo>{_NUM})\s*(?:(?:-|–|to|or)\s*(?P<hi>{_NUM}))?\s*(?:h|hr|hrs|hour|hours|°)\b"
    r"|\bq(?P<lo2>\d+(?:\.\d+)?)(?:-(?P<hi2>\d+(?:\.\d+)?))?h\b",
    re.IGNORECASE,
)
_TIMES = re.compile(
    rf"\b(?P<upto>up to |max(?:imum)? (?:of )?|not more than |no more than )?(?P<n>{_NUM})\s*(?:x|times)\s*"
    r"(?:(?:a|per|each|/)\s*)?(?:day|daily|24 ?h(?:ours?)?)\b",
    re.IGNORECASE,
)
# "up to 3 times a day" is as needed; "titrate to max 20 mg tid" is a titration target, not prn
_UP_TO = re.compile(r"\b(?:up to|max(?:imum)?|not more than|no more than)\b"
                    r"(?!\s*(?:of\s*)?\d+(?:\.\d+)?\s*(?:mg|g|mcg)\b)", re.IGNORECASE)
_NEGATIVE_INTERVAL = re.compile(r"\b(?:q|every|each)\s*[-−]\s*\d", re.IGNORECASE)
# "TID and HS", "tid + qhs", "three times a day and at bedtime": a bedtime dose on top of a daytime schedule
_PLUS_BEDTIME = re.compile(
    r"(?:\band\b|&|\+|\bplus\b|,)\s*(?:(?:\d+|one|1)\s*(?:tabs?|tablets?|caps?)?\s*)?"
    r"(?:q\.?\s?hs|h\.?s\.?|at bedtime|at night|nightly|bedtime)\b",
    re.IGNORECASE,
)
MIN_INTERVAL_HOURS = 1.0


def _num(text: str) -> float:
    word = text.lower().strip()
    if word in _WORDS:
        return float(_WORDS[word])
    if word in _FRACTIONS:
        return _FRACTIONS[word]
    if "/" in word:  # "1/2" tablet
        top, _, bottom = word.partition("/")
        if float(bottom) == 0:
            raise SigParseError("dose", f"'{text}' is not a usable number")
        return float(top) / float(bottom)
    try:
        value = float(text)
    except ValueError as exc:  # pragma: no cover - the regexes only pass numbers
        raise SigParseError("sig", f"'{text}' is not a number") from exc
    if value != value or value in (float("inf"), float("-inf")):
        raise SigParseError("dose", f"'{text}' is not a usable number")
    return value


def parse_frequency(text: str) -> Frequency | None:
    """Doses per day from a frequency phrase; None if the text states no frequency."""
    if not text or not text.strip():
        return None
    up_to = bool(_UP_TO.search(text))
    negative = _NEGATIVE_INTERVAL.search(text)
    if negative:
        raise SigParseError("frequency", f"a negative interval ({negative.group(0).strip()!r}…) is not possible")
    m = _INTERVAL.search(text)
    if m:
        lo = _num(m.group("lo") or m.group("lo2"))
        hi_text = m.group("hi") or m.group("hi2")
        hi = _num(hi_text) if hi_text else lo
        if lo <= 0 or hi <= 0:
            raise SigParseError("frequency", f"an interval of {m.group(0).strip()!r} is not possible")
        if min(lo, hi) < MIN_INTERVAL_HOURS:
            raise SigParseError(
                "frequency", f"an interval of {m.group(0).strip()!r} (under {MIN_INTERVAL_HOURS:g} hour) is not a "
                "dosing interval for an oral drug; check the number")
        lo, hi = min(lo, hi), max(lo, hi)
        per_day = 24.0 / lo
        span = _fmt(lo) if lo == hi else f"{_fmt(lo)}–{_fmt(hi)}"
        words = f"every {span} hours"
        return Frequency(per_day, words, (lo, hi), up_to, m.group(0).strip())
    m = _TIMES.search(text)
    if m:
        n = _num(m.group("n"))
        if n <= 0:
            raise SigParseError("frequency", f"{m.group(0).strip()!r} gives no doses")
        words = {1: "once a day", 2: "twice a day"}.get(int(n), f"{_fmt(n)} times a day") if n.is_integer() else (
            f"{_fmt(n)} times a day")
        return Frequency(n, ("up to " if m.group("upto") else "") + words, None, bool(m.group("upto")) or up_to,
                         m.group(0).strip())
    for pattern, per_day, words in _FIXED:
        m = pattern.search(text)
        if m:
            extra = _PLUS_BEDTIME.search(text, m.end())
            if extra and words not in ("at bedtime", "once", "once a week", "every other day"):
                return Frequency(per_day + 1, f"{words} and at bedtime", None, up_to,
                                 f"{m.group(0).strip()} {extra.group(0).strip()}")
            return Frequency(per_day, words, None, up_to, m.group(0).strip())
    return None


@dataclass
class Dose:
    low: float
    high: float
    unit: str  # as written
    kind: str  # "mass" | "non-mass"
    low_mg: float | None = None
    high_mg: float | None = None
    text: str = ""

    @property
    def mg(self) -> float | None:
        """The dose checked: the higher end of a range."""
        return self.high_mg


def parse_dose(text: str) -> Dose | None:
    """The first dose with a unit in ``text`` ("5 mg", "5-10 mg", "0.5 g", "2 tabs"); None if none."""
    m = _DOSE.search(text)
    if not m:
        return None
    return _dose_from_match(m)


def _negative_sign(text: str, start: int) -> bool:
    """True when the number at ``start`` is written with a minus sign ("diazepam -5 mg"), not a range or name."""
    before = text[:start].rstrip()
    if not before or before[-1] not in "-−":
        return False
    rest = before[:-1]
    return not rest or rest[-1].isspace() or rest[-1] in "(:=,"


def _dose_from_match(m: re.Match[str]) -> Dose:
    if _negative_sign(m.string, m.start()):
        raise SigParseError("dose", f"a negative dose ('-{m.group(0).strip()}') is not possible")
    low = _num(m.group("lo"))
    high = _num(m.group("hi")) if m.group("hi") else low
    low, high = min(low, high), max(low, high)
    if low <= 0:
        raise SigParseError("dose", f"a dose of {m.group(0).strip()!r} is zero; give the dose to take")
    unit = m.group("unit").lower()
    if unit in _MASS_UNITS:
        return Dose(low, high, unit, "mass", to_mg(low, unit), to_mg(high, unit), m.group(0).strip())
    return Dose(low, high, unit, "non-mass", None, None, m.group(0).strip())


def parse_days(text: str) -> int | None:
    m = _DURATION.search(text) or _DURATION_BARE.search(text)
    if m:
        n = _num(m.group("n"))
        unit = m.group("unit").lower()
    else:
        m = _DURATION_ONE.search(text)
        if not m:
            return None
        n, unit = 1.0, m.group("unit").lower()
    days = sig_days(n, unit)
    if days < 1 or days > MAX_DAYS:
        raise SigParseError("days", f"a course of {m.group(0).strip()!r} is outside 1–{MAX_DAYS} days")
    return round(days)


def parse_route(text: str) -> str | None:
    for pattern, route in _ROUTES:
        if pattern.search(text):
            return route
    return None


def normalise_route(text: str) -> str:
    """An order's ``route`` field: common words and abbreviations to a route name."""
    key = text.strip().lower()
    if key in _ROUTE_WORDS:
        return _ROUTE_WORDS[key]
    found = parse_route(key)
    return found or key


@dataclass
class ParsedSig:
    text: str
    drug_text: str
    dose: Dose | None
    frequency: Frequency | None
    prn: bool
    days: int | None
    route: str | None
    extended_release: bool = False
    notes: list[str] = field(default_factory=list)
    unit_assumed: bool = False  # "flexeril 10 tid": the number had no unit and was read as mg
    quantity: float | None = None  # "#15", "disp 30"
    units_per_dose: tuple[float, float] | None = None  # "1-2 tabs" alongside a strength
    combination_strengths: tuple[float, ...] = ()  # "Norco 5/325" -> (5, 325) mg per unit
    max_doses_per_day: float | None = None  # "max 3/day" written in the sig
    max_daily_mg: float | None = None  # "max 24 mg/day" written in the sig
    count_assumed: bool = False  # "Norco 10/325 q4h": no count, one unit read


_QUANTITY = re.compile(
    r"(?:#\s*|\b(?:disp(?:ense)?|qty|quantity|dispense\s*#?|supply)\s*[:#]?\s*(?:#\s*)?)(?P<n>\d+(?:\.\d+)?)"
    r"(?:\s*\((?:[a-z\s-]+)\))?(?:\s*(?:tabs?|tablets?|caps?|capsules?|pills?)\b)?",
    re.IGNORECASE,
)
_UNITS = re.compile(
    rf"(?<![\w./])(?P<lo>{_UNIT_NUM})\s*(?:(?:-|–|to|or)\s*(?P<hi>{_UNIT_NUM}))?\s*(?:of\s+an?\s+|of\s+)?"
    r"(?:tabs?|tablets?|caps?|capsules?|pills?)\b",
    re.IGNORECASE,
)
# "max 3/day", "max 3 doses a day", "not to exceed 4 tabs per day", "max 24 mg/day"
_MAX_PER_DAY = re.compile(
    r"\b(?:max(?:imum)?|not to exceed|nte|no more than|not more than|up to)\s*(?:of\s*)?(?P<n>\d+(?:\.\d+)?)\s*"
    r"(?P<unit>mg|doses?|tabs?|tablets?|caps?|capsules?|times)?\s*(?:/|per|a|in|each)\s*(?:day|24\s*h(?:ours?|rs?)?|d)\b",
    re.IGNORECASE,
)
_BARE_DOSE = re.compile(r"(?P<sign>(?<![\w.])[-−]\s*)?(?<![\w.#/])(?P<n>\d+(?:\.\d+)?)(?![\w/.%])")
_COUNT = re.compile(r"\s*(?P<lo>\d+(?:\.\d+)?)\s*(?:(?:-|–|to|or)\s*(?P<hi>\d+(?:\.\d+)?))?(?![\w/.])")
_NEGATIVE_DAYS = re.compile(r"(?:\b(?:x|for)\s*|×\s*|#\s*|\bdisp(?:ense)?\s*[:#]?\s*)[-−]\s*\d", re.IGNORECASE)
_NAME_STRENGTH = re.compile(r"[-\s](?P<n>\d+(?:\.\d+)?)\s*(?:mg)?$", re.IGNORECASE)
_LETTERS = re.compile(r"[A-Za-z]{2,}")
_LEAD = re.compile(r"^\s*(?:rx[:\s]+|take\s+|give\s+|start\s+)", re.IGNORECASE)
_TRAIL = re.compile(r"\b(?:tabs?|tablets?|caps?|capsules?|oral|po|er|xr|sr|cr|ir|hcl|hydrochloride)\s*$", re.I)


def parse_sig(sig: str) -> ParsedSig:
    """Parse a free-text sig such as ``"Valium 10 mg PO QID x 28 days"``.

    Prescriber shorthand is read as written: a number without a unit right after the drug name
    ("flexeril 10 tid") is taken as mg and flagged (``unit_assumed``); "1-2 tabs" beside a
    strength multiplies it; "#15" / "disp 15" is a quantity. Raises SigParseError when no drug
    name precedes the dose, or no dose is found, or a number is negative or zero.
    """
    if not isinstance(sig, str):
        raise SigParseError("sig", "must be text")
    text = " ".join(sig.replace("\u00a0", " ").split())
    if not text:
        raise SigParseError("sig", "is empty; write e.g. 'diazepam 5 mg PO q8h prn x 7 days'")
    quantity: float | None = None
    qm = _QUANTITY.search(text)
    if qm:
        if _negative_sign(text, qm.start("n")):
            raise SigParseError("quantity", "a negative quantity is not possible")
        quantity = _num(qm.group("n"))
        if quantity <= 0:
            raise SigParseError("quantity", f"a quantity of {qm.group('n')} is not possible")
        text = (text[: qm.start()] + " " + text[qm.end():]).strip()
        text = " ".join(text.split())
    if _NEGATIVE_DAYS.search(text):
        raise SigParseError("sig", "a negative course length or quantity is not possible")
    unit_assumed = False
    count_assumed = False
    combination: tuple[float, ...] = ()
    # combination strengths ("Norco 5/325") belong to the product name, not the dose
    m = _DOSE.search(text)
    combo = _COMBO_STRENGTH.search(text)
    if combo and (m is None or combo.start() <= m.start()):
        combination = tuple(float(x) for x in re.findall(r"\d+(?:\.\d+)?", combo.group(0)))
        rest = text[combo.end():]
        m2 = _DOSE.search(rest)
        drug_text = text[: combo.end()]
        dose = _dose_from_match(m2) if m2 else None
        after = rest[m2.end():] if m2 else rest
        count = None if m2 else _COUNT.match(rest)
        if count:  # "Percocet 5/325 1-2 po q4h": a bare count after a combination strength is units
            lo = _num(count.group("lo"))
            hi = _num(count.group("hi")) if count.group("hi") else lo
            if min(lo, hi) <= 0:
                raise SigParseError("dose", f"{count.group(0).strip()!r} is not a number of units to take")
            dose = Dose(min(lo, hi), max(lo, hi), "units", "non-mass", None, None, count.group(0).strip())
            after = rest[count.end():]
        elif not m2 and combination:
            count_assumed = True  # "Norco 10/325 q4h prn": one unit per dose is what the prescriber means
            dose = Dose(1, 1, "units", "non-mass", None, None, "1 (no count written)")
    elif m is None:
        bare = _BARE_DOSE.search(text)
        if bare is None or not _LETTERS.search(text[: bare.start()]):
            raise SigParseError("sig", "no dose found; write the dose with a unit, e.g. 'diazepam 5 mg PO TID'")
        if bare.group("sign"):
            raise SigParseError("dose", f"a negative dose ('-{bare.group('n')}') is not possible")
        value = _num(bare.group("n"))
        if value <= 0:
            raise SigParseError("dose", f"a dose of {bare.group('n')!r} is zero; give the dose to take")
        drug_text = text[: bare.start()]
        dose = Dose(value, value, "mg", "mass", value, value, bare.group(0).strip() + " (no unit)")
        unit_assumed = True
        after = text[bare.end():]
    else:
        drug_text = text[: m.start()]
        dose = _dose_from_match(m)
        after = text[m.end():]
    drug_text = _LEAD.sub("", drug_text).strip(" ,;:-")
    drug_text = _TRAIL.sub("", drug_text).strip(" ,;:-")
    if not drug_text:
        raise SigParseError("sig", "no drug name before the dose; write e.g. 'diazepam 5 mg PO TID'")
    units_per_dose: tuple[float, float] | None = None
    if dose is not None and dose.kind == "mass":
        um = _UNITS.search(after)
        if um:
            lo = _num(um.group("lo"))
            hi = _num(um.group("hi")) if um.group("hi") else lo
            if lo <= 0 or hi <= 0:
                raise SigParseError("dose", f"{um.group(0).strip()!r} is not a number of tablets to take")
            units_per_dose = (min(lo, hi), max(lo, hi))
            after = after[: um.start()] + " " + after[um.end():]
    elif dose is not None and dose.kind == "non-mass" and dose.unit.rstrip("s") in ("tab", "tablet", "cap", "capsule",
                                                                                     "pill", "unit"):
        units_per_dose = (dose.low, dose.high)
        named = _NAME_STRENGTH.search(drug_text)
        if named and not combination:  # "Robaxin-750 1 tab": the strength is in the product name
            strength = _num(named.group("n"))
            dose = Dose(strength, strength, "mg", "mass", strength, strength, f"{dose.text} of {fmt(strength)} mg")
    max_per_day: float | None = None
    max_mg: float | None = None
    cap = _MAX_PER_DAY.search(after)
    if cap:
        value = _num(cap.group("n"))
        if value <= 0:
            raise SigParseError("frequency", f"{cap.group(0).strip()!r} allows nothing")
        if (cap.group("unit") or "").lower() == "mg":
            max_mg = value
        elif (cap.group("unit") or "").lower().rstrip("s") in ("tab", "tablet", "cap", "capsule"):
            per_dose = units_per_dose[1] if units_per_dose else 1.0
            max_per_day = value / per_dose
        else:
            max_per_day = value
    with_cap = after
    if cap:
        after = after[: cap.start()] + " " + after[cap.end():]
    days = parse_days(after)
    # keep the duration out of the frequency search ("x 7 days" is not "7 times a day")
    frequency = parse_frequency(_DURATION_BARE.sub(" ", _DURATION.sub(" ", after)))
    if frequency is None and cap:  # "up to 3 times a day" is the frequency itself, not a cap on another
        frequency = parse_frequency(_DURATION_BARE.sub(" ", _DURATION.sub(" ", with_cap)))
        max_per_day = max_mg = None
    prn = bool(_PRN.search(after)) or bool(frequency and frequency.up_to)
    route = parse_route(after) or parse_route(drug_text)
    return ParsedSig(text, drug_text, dose, frequency, prn, days, route, bool(_ER.search(text)),
                     unit_assumed=unit_assumed, quantity=quantity, units_per_dose=units_per_dose,
                     combination_strengths=combination, max_doses_per_day=max_per_day, max_daily_mg=max_mg,
                     count_assumed=count_assumed)


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


fmt = _fmt
