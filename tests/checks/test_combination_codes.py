"""A combination product's RxNorm code counts every ingredient in check (REST/CLI path, not only CDS)."""

import clinguide
from clinguide.kb import get_kb

PERCOCET_5 = "1049223"  # acetaminophen 325 MG / oxycodone hydrochloride 5 MG Oral Tablet [Endocet]


def test_the_code_names_both_ingredients():
    assert set(get_kb().drugs_by_rxnorm(PERCOCET_5)) == {"acetaminophen", "oxycodone"}


def test_current_combination_medication_by_code_gives_the_opioid_benzodiazepine_finding():
    result = clinguide.check(
        {"sig": "diazepam 2 mg PO tid x 5 days"},
        {"age": 40, "medications": [{"name": "my pain pills", "code": PERCOCET_5}]},
    )
    assert "opioid-benzodiazepine" in [f.code for f in result.findings]
    assert result.verdict == "do-not-prescribe"


def test_ordered_combination_code_is_the_combination_product():
    result = clinguide.check({"code": PERCOCET_5, "dose": "1 tablet", "frequency": "q6h", "days": 3}, {"age": 40})
    assert result.order.drug == "oxycodone-acetaminophen"
