"""An OpenAPI document that tells the truth about errors and cross-field rules.

FastAPI documents every 422 as its own ``HTTPValidationError`` and knows nothing of the errors the
middleware and handlers answer with (400, 401, 413, 415, 429, …). ``install(app)`` replaces the
generated document with one in which every operation lists the statuses it can really return, each
with the body the service really sends (``Error``; the editorial API's structured ``ErrorResponse``
too), and the request models' "one of these fields" rules (pydantic model validators, invisible to
JSON Schema) are written out as ``anyOf`` / ``if``–``then``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

ERROR_REF = {"$ref": "#/components/schemas/Error"}
EDITORIAL_ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}

DESCRIPTIONS = {
    "400": "The body cannot be used: not JSON, not UTF-8, or (CDS Hooks) it does not validate.",
    "401": "A credential is required or was not accepted (see WWW-Authenticate).",
    "403": "The credential is valid but its role may not do this.",
    "404": "Nothing of that id or path.",
    "409": "Illegal state transition, or someone else changed the item first.",
    "413": "The body is larger than the configured limit.",
    "415": "The body is not sent as application/json.",
    "422": "The JSON is well formed but a field is missing or not accepted; `problems` names each.",
    "429": "Too many requests from this client; retry after `Retry-After` seconds.",
    "503": "The knowledge pack, an engine or the editorial store is not available.",
}


class Problem(BaseModel):
    field: str
    message: str


class Error(BaseModel):
    """Every error body of the service (the editorial API's own errors are ErrorResponse)."""

    error: str = Field(description="A short title")
    detail: str = Field(description="What was wrong and what is accepted")
    field: str | None = Field(default=None, description="Where, as a dotted path")
    problems: list[Problem] | None = Field(default=None, description="Each validation problem")
    resource: str | None = Field(default=None, description="The FHIR resource type that did not validate")
    limit: int | None = Field(default=None, description="The body size limit in bytes (413)")
    retry_after: int | None = Field(default=None, description="Seconds to wait (429)")


def _codes(path: str, method: str) -> tuple[str, ...]:
    """The error statuses an operation can answer with."""
    body = method in ("post", "put", "patch")
    limited = ("429",) if not path.startswith("/healthz") else ()
    sized = ("400", "413", "415") if body else ()
    if path.startswith("/api/editorial"):
        return ("400", "401", "403", "404", "409", "422", "503", *sized, *limited)
    if path.startswith("/api/"):
        return ("401", "422", "503", *sized, *limited)
    if path.startswith("/cds-services"):
        return ("400", "401", "404", *sized, *limited)
    if path.startswith("/audit"):
        return ("404", *limited)  # no audit report configured (CLINGUIDE_AUDIT_DIR)
    return limited


def _error_content(path: str) -> dict[str, Any]:
    schema = {"anyOf": [ERROR_REF, EDITORIAL_ERROR_REF]} if path.startswith("/api/editorial") else ERROR_REF
    return {"application/json": {"schema": schema}}


def _document_errors(doc: dict[str, Any]) -> None:
    for path, item in doc.get("paths", {}).items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            for code in _codes(path, method):
                entry = responses.setdefault(code, {"description": DESCRIPTIONS[code]})
                entry["content"] = _error_content(path)
                if not entry.get("description") or entry["description"] == "Validation Error":
                    entry["description"] = DESCRIPTIONS[code]
                if code == "429":
                    entry["headers"] = {
                        "Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}
                    }
                if code == "401":
                    entry["headers"] = {
                        "WWW-Authenticate": {"description": "The scheme expected", "schema": {"type": "string"}}
                    }


def _non_empty(name: str) -> dict[str, Any]:
    return {"required": [name], "properties": {name: {"type": "string", "pattern": r"\S"}}}


def _cross_field_rules(schemas: dict[str, Any]) -> None:
    """The model validators' rules, as JSON Schema (kept in step by the schemathesis test)."""
    if "Order" in schemas:  # contracts.Order: sig, drug or code
        schemas["Order"]["anyOf"] = [_non_empty("sig"), _non_empty("drug"), _non_empty("code")]
    if "HookRequest" in schemas:  # fhirAuthorization needs a fhirServer
        schemas["HookRequest"]["if"] = {
            "required": ["fhirAuthorization"],
            "properties": {"fhirAuthorization": {"type": "object"}},
        }
        schemas["HookRequest"]["then"] = {"required": ["fhirServer"], "properties": {"fhirServer": {"type": "string"}}}
    if "FeedbackItem" in schemas:  # an accepted card names the suggestions taken
        schemas["FeedbackItem"]["if"] = {"required": ["outcome"], "properties": {"outcome": {"const": "accepted"}}}
        schemas["FeedbackItem"]["then"] = {
            "required": ["acceptedSuggestions"],
            "properties": {"acceptedSuggestions": {"type": "array", "minItems": 1}},
        }
    if "OverrideReason" in schemas:  # a reason code or a comment
        schemas["OverrideReason"]["anyOf"] = [
            {"required": ["reason"], "properties": {"reason": {"type": "object"}}},
            _non_empty("userComment"),
        ]


def _document_api_auth(doc: dict[str, Any]) -> None:
    """When /api/* needs a credential (CLINGUIDE_API_AUTH), say which, so clients and /docs can send it."""
    from clinguide.settings import get_settings

    mode = get_settings().api_auth
    if mode == "off":
        return
    schemes = doc["components"].setdefault("securitySchemes", {})
    requirement: list[dict[str, list[str]]] = []
    if mode in ("key", "key-or-jwt"):
        schemes["ApiKey"] = {"type": "apiKey", "in": "header", "name": "X-API-Key"}
        requirement.append({"ApiKey": []})
    if mode in ("jwt", "key-or-jwt"):
        schemes["ClientJWT"] = {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
        requirement.append({"ClientJWT": []})
    for path, item in doc.get("paths", {}).items():
        if path.startswith("/api/") and not path.startswith("/api/editorial"):
            for operation in item.values():
                if isinstance(operation, dict) and "responses" in operation:
                    operation["security"] = requirement


def build(app: FastAPI) -> dict[str, Any]:
    doc = get_openapi(
        title=app.title, version=app.version, description=app.description, routes=app.routes, tags=app.openapi_tags
    )
    schemas = doc.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(schemas["Error"].pop("$defs", {}))
    if "ErrorResponse" not in schemas:
        from clinguide.service.editorial_api import ErrorResponse

        schemas["ErrorResponse"] = ErrorResponse.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schemas["ErrorResponse"].pop("$defs", {}))
    _document_errors(doc)
    _cross_field_rules(schemas)
    _document_api_auth(doc)
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    return doc


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
