"""clinguide: offline, cited clinical decision support.

The Python API mirrors the CLI and the REST API::

    import clinguide
    clinguide.check({"sig": "diazepam 5 mg PO q8h prn x 7 days"}, {"age": 70}).to_json()
    clinguide.assess({"age": 40, "symptom_days": 5, "spasm": "severe"})
    clinguide.ask("Should I take Valium for back spasm?", audience="patient")

Attributes are imported lazily so that the command line starts quickly.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["ask", "assess", "check"]


def __getattr__(name: str) -> Any:
    if name == "check":
        from clinguide.checks.engine import check

        return check
    if name == "assess":
        from clinguide.plans.assess import assess

        return assess
    if name == "ask":
        from clinguide.answers.compose import ask

        return ask
    raise AttributeError(f"module 'clinguide' has no attribute {name!r}")
