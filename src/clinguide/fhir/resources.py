"""Validate FHIR R4 resources with fhir.resources (R4B = 4.3, which parses R4 JSON unchanged).

fhir.resources 8.x puts R5 at the top level; R4 MedicationRequests do not validate there, so
everything here uses ``fhir.resources.R4B``. A resource that does not validate raises
:class:`FhirInputError` naming the resource and the field.
"""

from __future__ import annotations

import hashlib
import importlib
import marshal
import threading
from collections import OrderedDict
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
    "MedicationStatement": "medicationstatement",
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


class _ValidSeen:
    """Digests of resources that validated: the same resource sent again (every call of a CDS client
    repeats the patient, the medication list and the drafts) is not validated in depth again. Only
    successes are kept, keyed by the resource's exact content, so any change is validated afresh."""

    def __init__(self, size: int = 8192) -> None:
        self.size = size
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(data: dict[str, Any]) -> bytes | None:
        # marshal writes every value with its type, in the order given (a reordered resource is validated
        # again, never taken for another); ~5x faster than JSON text, and this runs for every resource
        try:
            raw = marshal.dumps(data)
        except ValueError:  # not plain data: always validate
            return None
        return hashlib.blake2b(raw, digest_size=20).digest()

    def __contains__(self, key: bytes | None) -> bool:
        return key is not None and key in self._seen

    def add(self, key: bytes | None) -> None:
        if key is None:
            return
        with self._lock:
            self._seen[key] = None
            while len(self._seen) > self.size:
                self._seen.popitem(last=False)


_VALID = _ValidSeen()


def warm_models() -> int:
    """Import every FHIR model clinguide validates and every element type they can hold (a worker does
    this at start-up: fhir.resources imports an element's module the first time one is validated,
    which made the first request on a worker ~100 ms slower). Returns how many models are loaded."""
    import typing

    from fhir_core.types import FhirBase

    def element_types(annotation: Any) -> Iterator[Any]:
        if isinstance(annotation, type) and issubclass(annotation, FhirBase):
            yield annotation
        for arg in typing.get_args(annotation):
            yield from element_types(arg)

    seen: set[Any] = set()
    todo = [_model(resource_type) for resource_type in _MODULES]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for info in model.model_fields.values():
            for element in element_types(info.annotation):
                todo.append(element.get_model_klass())
    return len(seen)


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
        key = _VALID.key(data)
        if key not in _VALID:
            try:
                _model(rtype).model_validate(data)
            except ValidationError as exc:
                err = exc.errors()[0]
                field = ".".join(str(p) for p in err["loc"]) or None
                more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
                raise FhirInputError(name, field, f"{err['msg']}{more}; FHIR R4 {rtype} expected") from None
            _VALID.add(key)
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
