"""The public RxNorm value sets of shared/interop/valuesets-extra, imported with provenance."""

from __future__ import annotations

import pytest

from clinguide.checks.engine import check
from clinguide.kb import shipped_kb


@pytest.fixture(scope="module")
def kb():
    return shipped_kb()


@pytest.mark.parametrize(("code", "drug"), [
    ("828348", "cyclobenzaprine"),   # 10 mg tablet (CMS156 per-ingredient set)
    ("828355", "cyclobenzaprine"),   # Amrix 30 mg ER capsule (archived CDC set)
    ("197944", "methocarbamol"),
    ("351254", "metaxalone"),
    ("197446", "carisoprodol"),
    ("197502", "chlorzoxazone"),
    ("1665675", "ketorolac"),
    ("310431", "gabapentin"),
    ("884173", "clonidine"),
    ("57258", "tizanidine"),         # ingredient code, verified in the US Core list (VS05)
    ("1292", "baclofen"),
])
def test_codes_resolve(kb, code, drug):
    assert drug in kb.drugs_by_rxnorm(code)


def test_combination_product_keeps_both_ingredients(kb):
    assert set(kb.drugs_by_rxnorm("197885")) == {"hydrochlorothiazide", "lisinopril"}


def test_every_extra_list_records_its_provenance(kb):
    extra = [cl for cl in kb.code_lists if cl.source.startswith("VS")]
    assert len(extra) >= 15
    for cl in extra:
        assert cl.source in kb.sources
        assert "cqframework/" in cl.origin and "@" in cl.origin  # upstream repository at a commit
        assert cl.expansion and cl.products


def test_extended_release_products_are_marked(kb):
    assert "828355" in kb.extended_release_codes and "828348" not in kb.extended_release_codes


def test_fhir_style_order_by_code_is_checked(kb):
    result = check({"code": "884173", "dose": "0.1 mg", "frequency": "bid"}, {"age": 50}, kb=kb)
    assert result.order.drug == "clonidine"
    result = check({"code": "828348", "dose": "10 mg", "frequency": "tid", "days": 7},
                   {"age": 50, "medications": [{"name": "lisinopril", "code": "29046"}]}, kb=kb)
    assert result.order.drug == "cyclobenzaprine" and "unknown-medication" not in {f.code for f in result.findings}
