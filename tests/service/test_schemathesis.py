"""Property-based run of every OpenAPI operation, in-process, with every schemathesis check.

Positive (schema-valid) and negative (schema-violating) requests for each operation: no 5xx, every
status and body documented (responses validate against the schema), valid data accepted, invalid data
rejected, the content types and headers as documented. Bounded: a fixed number of derandomised
examples per operation and mode ($CLINGUIDE_SCHEMATHESIS_EXAMPLES, default 12), about a minute on the
2-core machine; raise it for a deeper run.
"""

from __future__ import annotations

import os
from collections import Counter

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS

EXAMPLES = int(os.environ.get("CLINGUIDE_SCHEMATHESIS_EXAMPLES", "12"))

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def schema(real_client: TestClient):  # type: ignore[no-untyped-def]
    """The shipped pack; unsigned local calls allowed so that generated CDS calls reach the hook logic."""
    return _with_413_as_rejection(schemathesis.openapi.from_asgi("/openapi.json", real_client.app))


def _with_413_as_rejection(schema):  # type: ignore[no-untyped-def]
    """A schema-violating body too large to read is rightly refused with 413 (documented on every operation
    with a body); schemathesis's default list of rejection statuses leaves 413 out."""
    rejection = schema.config.checks.negative_data_rejection
    rejection.expected_statuses = [*rejection.expected_statuses, "413"]
    return schema


def _summary(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines()]
    picked = [line for line in lines if line.startswith(("- ST", "[", "curl"))]
    return " | ".join(picked)[:600] or f"{type(exc).__name__}: {str(exc)[:300]}"


def test_every_check_passes(schema) -> None:  # type: ignore[no-untyped-def]
    checks = CHECKS.get_all()
    assert len(checks) >= 8  # the not-a-server-error, conformance and data-acceptance families at least
    failures: Counter[str] = Counter()
    calls: Counter[str] = Counter()
    first: list[str] = []  # the whole report of the first failure, to reproduce it
    for operation in schema.get_all_operations():
        op = operation.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                                 suppress_health_check=list(hypothesis.HealthCheck),
                                 phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
            @hypothesis.given(case=op.as_strategy(generation_mode=mode))
            def run(case) -> None:  # type: ignore[no-untyped-def]
                calls[f"{case.method} {case.operation.path}"] += 1
                try:
                    case.call_and_validate(checks=checks)
                except (Exception, BaseExceptionGroup) as exc:
                    where = f"{case.method} {case.operation.path} [{case.meta.generation.mode.value}]"
                    failures[f"{where}: {_summary(exc)}"] += 1
                    if not first:
                        first.append(str(exc)[:4000])

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                # e.g. no schema-violating request exists for GET /healthz (no parameters, no body)
                assert mode is GenerationMode.NEGATIVE, op.path
    assert len(calls) >= 15, calls  # every operation was exercised
    assert not failures, "\n".join(f"{n}× {k}" for k, n in failures.most_common(10)) + "\n\n" + first[0]


@pytest.fixture(scope="module")
def editorial_schema(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """The app over a fresh editorial store, and an editor's token (so generated calls get past 401)."""
    from clinguide.editorial import db
    from clinguide.editorial.workflow import EditorialStore
    from clinguide.service import editorial_api
    from clinguide.service.app import create_app

    data = tmp_path_factory.mktemp("schemathesis-editorial")
    url = f"sqlite:///{data / 'clinguide.db'}"
    mp = pytest.MonkeyPatch()
    mp.setenv("CLINGUIDE_DATA_DIR", str(data))
    mp.setenv("CLINGUIDE_DATABASE_URL", url)
    _user, token = EditorialStore(url).create_user("Schema Editor", "editor")
    app = create_app()
    yield _with_413_as_rejection(schemathesis.openapi.from_asgi("/openapi.json", app)), token
    mp.undo()
    editorial_api._stores.clear()
    db.dispose(url)


def test_editorial_api_signed_in(editorial_schema) -> None:  # type: ignore[no-untyped-def]
    """Every check on /api/editorial/* with a valid editor token. Not "valid data accepted": a proposal's
    YAML, or an approval, can be schema-valid and still refused (400/409/422) by the pack or the workflow."""
    from schemathesis.checks import positive_data_acceptance

    schema, token = editorial_schema
    checks = [check for check in CHECKS.get_all() if check is not positive_data_acceptance]
    statuses: Counter[int] = Counter()
    failures: Counter[str] = Counter()
    first: list[str] = []
    for operation in schema.include(path_regex="^/api/editorial").get_all_operations():
        op = operation.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                                 suppress_health_check=list(hypothesis.HealthCheck),
                                 phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
            @hypothesis.given(case=op.as_strategy(generation_mode=mode))
            def run(case) -> None:  # type: ignore[no-untyped-def]
                # the generated credential is swapped for a valid one; a case whose mutation is to leave the
                # credential out keeps it out (and must get 401)
                if case.headers and any(name.lower() == "authorization" for name in case.headers):
                    case.headers = {k: v for k, v in case.headers.items() if k.lower() != "authorization"}
                    case.headers["Authorization"] = f"Bearer {token}"
                try:
                    response = case.call()
                    statuses[response.status_code] += 1
                    case.validate_response(response, checks=checks)
                except (Exception, BaseExceptionGroup) as exc:
                    where = f"{case.method} {case.operation.path} [{case.meta.generation.mode.value}]"
                    failures[f"{where}: {_summary(exc)}"] += 1
                    if not first:
                        first.append(str(exc)[:4000])

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, op.path
    assert statuses[200] >= 5 and statuses[404] >= 1, statuses  # the token was accepted: real work was done
    assert not failures, "\n".join(f"{n}× {k}" for k, n in failures.most_common(10)) + "\n\n" + first[0]
