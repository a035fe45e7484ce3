"""Validate FHIR R4 resources with fhir.resources (R4B = 4.3, which parses R4 JSON unchanged).

fhir.resources 8.x puts R5 at the top level; R4 MedicationRequests do not validate there, so
everything here uses ``fhir.resources.R4B``. A resource that does not validate raises
:class:`FhirInputError` naming the resource and the field.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from functools import cache
from typing import Any

from pydantic import ValidationError

from clinguide.errors import InputError

# resourceType -> R4B module; only the types clinguide reads are validated in depth.
_MODULES = {
    "Patient": "patient",
    "MedicationRequest": "medicationrequest",
    "Condition": "condition",
    "AllergyIntolerance": "allergyintolerance",
    "Procedure": "procedure",
    "Medication": "medication",
    "Bundle": "bundle",
    "OperationOutcome": "operationoutcome",
}

# code values clinguide relies on (fhir.resources does not check code bindings)
_GENDERS = {"male", "female", "other", "unknown"}
_MR_STATUSES = {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft", "unknown"}


class FhirInputError(InputError):
    """A FHIR resource that does not validate; names the resource (Type/id) and the field."""

    def __init__(self, resource: str, field: str | None, message: str):
        self.resource = resource
        where = f"{resource}.{field}" if field else resource
        super().__init__(f"{where}: {message}", field=field)


@cache
def _model(resource_type: str) -> Any:
    module = importlib.import_module(f"fhir.resources.R4B.{_MODULES[resource_type]}")
    return getattr(module, resource_type)


def label(data: dict[str, Any]) -> str:
    """`Type/id` for messages (the id alone carries no patient data)."""
    rtype = data.get("resourceType", "resource")
    rid = data.get("id")
    return f"{rtype}/{rid}" if isinstance(rid, str) and rid else str(rtype)


def validate(data: Any, where: str = "resource") -> dict[str, Any]:
    """Validate one resource and return it unchanged (a dict), or raise FhirInputError."""
    if not isinstance(data, dict):
        raise FhirInputError(where, None, f"must be a FHIR resource (a JSON object), not {type(data).__name__}")
    rtype = data.get("resourceType")
    if not isinstance(rtype, str) or not rtype:
        raise FhirInputError(where, "resourceType", "is missing; every FHIR resource names its resourceType")
    name = label(data)
    if rtype in _MODULES and rtype != "Bundle":  # bundle entries are validated one by one below
        try:
            _model(rtype).model_validate(data)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or None
            more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
            raise FhirInputError(name, field, f"{err['msg']}{more}; FHIR R4 {rtype} expected") from None
    if rtype == "Patient" and "gender" in data and data["gender"] not in _GENDERS:
        raise FhirInputError(name, "gender", f"'{data['gender']}' is not a FHIR gender; use one of {sorted(_GENDERS)}")
    if rtype == "MedicationRequest" and data.get("status") not in _MR_STATUSES:
        raise FhirInputError(name, "status", f"'{data.get('status')}' is not a MedicationRequest status")
    if rtype == "Bundle":
        entries = data.get("entry", [])
        if not isinstance(entries, list):
            raise FhirInputError(name, "entry", "must be a list of entries")
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict):
                raise FhirInputError(name, f"entry.{i}", "must be an object with a 'resource'")
            if "resource" in entry:
                validate(entry["resource"], f"{name}.entry.{i}.resource")
    return data


def iter_resources(value: Any, where: str) -> Iterator[dict[str, Any]]:
    """The resources in a prefetch value or a context Bundle: bare resources and Bundle entries (any type)."""
    for resource, _ in iter_entries(value, where):
        yield resource


def iter_entries(value: Any, where: str) -> Iterator[tuple[dict[str, Any], str | None]]:
    """Like :func:`iter_resources`, with each Bundle entry's ``fullUrl`` (None for a bare resource)."""
    if value is None:
        return
    yield from _walk(validate(value, where), None)


def _walk(data: dict[str, Any], full_url: str | None) -> Iterator[tuple[dict[str, Any], str | None]]:
    if data.get("resourceType") == "Bundle":
        for entry in data.get("entry", []):
            if isinstance(entry.get("resource"), dict):
                url = entry.get("fullUrl")
                yield from _walk(entry["resource"], url if isinstance(url, str) and url else None)
    else:
        yield data, full_url
