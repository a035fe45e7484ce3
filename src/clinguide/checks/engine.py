"""``check(order, case)``: every problem with a prescription for this patient, with a verdict.

Accepts the Order and Case contracts as dicts or models. A dict that does not fit the
contract raises :class:`InputError`, whose message names each field and what is accepted;
everything else (unknown drug, unreadable sig, unknown condition) becomes a finding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from clinguide.contracts import Case, CheckResult, Order, SourceRef
from clinguide.errors import ContractError, coerce

InputError = ContractError  # the name the CLI and tests import from here


def check(order: Order | Mapping[str, Any] | str, case: Case | Mapping[str, Any] | None = None,
          kb: Any = None, suggest: bool = True, prepared_case: Any = None) -> CheckResult:
    """Check one order (an Order, its dict, or a sig string) for one case (a Case or its dict).

    With ``suggest`` the result carries one safer order that passes its own check (see safer.py);
    ``prepared_case`` (the CaseContext of this same case) lets that re-check skip resolving it again.
    """
    from clinguide.checks.base import CheckContext, kb_index
    from clinguide.checks.registry import run_all
    from clinguide.checks.verdict import verdict
    from clinguide.clinical.case import prepare_case
    from clinguide.clinical.order import prepare_order

    order_model: Order = coerce(order, Order, "order")
    case_model: Case = coerce(case if case is not None else {}, Case, "case")
    if kb is None:
        from clinguide.kb import get_kb

        kb = get_kb()
    case_ctx = prepared_case if prepared_case is not None else prepare_case(case_model, kb)
    ctx = CheckContext(kb=kb, order=prepare_order(order_model, kb), case=case_ctx, index=kb_index(kb))
    findings = run_all(ctx)
    suggested = None
    if suggest:
        from clinguide.checks import safer

        suggested = safer.choose(ctx, findings)
        findings = safer.apply(findings, suggested)
    cited = list(dict.fromkeys(s for f in findings for s in f.sources))
    sources = [
        SourceRef(id=s, citation=kb.sources[s].citation, url=kb.sources[s].url, kind=kb.sources[s].kind,
                  evidence_level=kb.sources[s].evidence_level)
        for s in cited if s in kb.sources
    ]
    return CheckResult(order=ctx.order.normalised, verdict=verdict(findings, ctx.order.normalised),
                       findings=findings, suggested_order=suggested, sources=sources, knowledge_version=kb.version)


def check_many(orders: Iterable[Order | Mapping[str, Any] | str], case: Case | Mapping[str, Any] | None = None,
               kb: Any = None) -> list[CheckResult]:
    """Check several orders for the same case (the case is validated once)."""
    case_model = coerce(case if case is not None else {}, Case, "case")
    return [check(o, case_model, kb) for o in orders]
