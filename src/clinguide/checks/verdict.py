"""The verdict, derived from the findings by one rule.

1. ``cannot-assess`` if any finding is ``unknown-drug`` or ``unparseable-order``, or the
   dose could not be read as a mass (``implausible-dose`` with no ``dose_mg``), or the patient
   is a child the pack holds no rule for (``pediatric-not-assessed``) and nothing critical was found;
2. else ``do-not-prescribe`` if any finding is critical;
3. else ``caution`` if any finding is a warning;
4. else ``ok`` (info findings only, or none).
"""

from __future__ import annotations

from clinguide.contracts import Finding, NormalisedOrder, Verdict

CANNOT_ASSESS_CODES = frozenset({"unknown-drug", "unparseable-order"})


def verdict(findings: list[Finding], order: NormalisedOrder) -> Verdict:
    codes = {f.code for f in findings}
    if codes & CANNOT_ASSESS_CODES or ("implausible-dose" in codes and order.dose_mg is None):
        return "cannot-assess"
    severities = {f.severity for f in findings}
    if "pediatric-not-assessed" in codes and "critical" not in severities:
        return "cannot-assess"
    if "critical" in severities:
        return "do-not-prescribe"
    if "warning" in severities:
        return "caution"
    return "ok"
