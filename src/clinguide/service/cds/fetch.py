"""Read what prefetch did not bring from the EHR's FHIR server (httpx, bounded time, bearer token).

Callers check the server against the allow-list (allowlist.py) first; here nothing leaves that base:
paging links and Medication references elsewhere are not followed, and redirects are never followed.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx

from clinguide.service.cds.allowlist import matches, parse_base

TIMEOUT = httpx.Timeout(5.0, connect=2.0)
MAX_PAGES = 5
_QUERIES = {
    "Patient": "Patient/{pid}",
    "MedicationRequest": "MedicationRequest?patient={pid}&status=active",
    "Condition": "Condition?patient={pid}&clinical-status=active",
    "AllergyIntolerance": "AllergyIntolerance?patient={pid}&clinical-status=active",
    "Procedure": "Procedure?patient={pid}&_sort=-date&_count=20",
}


MAX_MEDICATIONS = 20


def within(url: str, base: str) -> bool:
    """True when ``url`` lies under the FHIR base ``base`` (same origin, path below it, no dot segments)."""
    entry = parse_base(base)
    return entry is not None and matches(url.split("?", 1)[0], entry)


class FetchError(Exception):
    """The FHIR server could not be read; the message names what and why (no patient data)."""


async def _get(client: httpx.AsyncClient, url: str) -> Any:
    try:
        response = await client.get(url, headers={"Accept": "application/fhir+json"})
    except httpx.TimeoutException:
        raise FetchError("timed out") from None
    except httpx.HTTPError as exc:
        raise FetchError(f"could not connect ({type(exc).__name__})") from None
    if response.status_code == 404:
        return None
    if response.status_code >= 400:
        raise FetchError(f"HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise FetchError("the answer was not JSON") from None


async def _fetch_one(client: httpx.AsyncClient, base: str, rtype: str, pid: str) -> Any:
    url = f"{base.rstrip('/')}/{_QUERIES[rtype].format(pid=quote(pid, safe=''))}"
    first = await _get(client, url)
    if rtype == "Patient" or not isinstance(first, dict) or first.get("resourceType") != "Bundle":
        return first
    entries = list(first.get("entry", []))
    page = first
    for _ in range(MAX_PAGES - 1):
        nxt = next((link.get("url") for link in page.get("link", []) if link.get("relation") == "next"), None)
        if not nxt or not within(str(nxt), base):  # never follow a link off the server
            break
        page = await _get(client, nxt)
        if not isinstance(page, dict):
            break
        entries += page.get("entry", [])
    return {**first, "entry": entries, "link": []}


async def fetch(
    base: str,
    patient_id: str,
    types: list[str],
    token: str | None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Fetch each type; returns ({type: resource or Bundle}, {type: error})."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    results: dict[str, Any] = {}
    errors: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=TIMEOUT, headers=headers, transport=transport, follow_redirects=False) as c:
        outcomes = await asyncio.gather(
            *(_fetch_one(c, base, t, patient_id) for t in types), return_exceptions=True
        )
    for rtype, outcome in zip(types, outcomes, strict=True):
        if isinstance(outcome, FetchError):
            errors[rtype] = str(outcome)
        elif isinstance(outcome, BaseException):
            errors[rtype] = f"failed ({type(outcome).__name__})"
        else:
            results[rtype] = outcome
    return results, errors


async def fetch_medications(
    base: str,
    references: list[str],
    token: str | None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[dict[str, Any], dict[str, str]]:
    """Read referenced Medication resources from the server: ({reference: Medication}, {reference: error}).

    Relative references (``Medication/123``) are read under ``base``; absolute ones only when they lie
    under ``base``; anything else is reported, not fetched.
    """
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    found: dict[str, Any] = {}
    errors: dict[str, str] = {}
    urls: dict[str, str] = {}
    for ref in references[:MAX_MEDICATIONS]:
        parts = ref.split("/")
        if ref.startswith("Medication/") and len(parts) == 2 and parts[1]:
            urls[ref] = f"{base.rstrip('/')}/Medication/{quote(parts[1], safe='')}"
        elif within(ref, base) and "/Medication/" in ref:
            urls[ref] = ref
        else:
            errors[ref] = "not a Medication on the request's FHIR server"
    for ref in references[MAX_MEDICATIONS:]:
        errors[ref] = "too many medication references in one request"
    if not urls:
        return found, errors
    async with httpx.AsyncClient(timeout=TIMEOUT, headers=headers, transport=transport, follow_redirects=False) as c:
        outcomes = await asyncio.gather(*(_get(c, u) for u in urls.values()), return_exceptions=True)
    for ref, outcome in zip(urls, outcomes, strict=True):
        if isinstance(outcome, FetchError):
            errors[ref] = str(outcome)
        elif isinstance(outcome, BaseException):
            errors[ref] = f"failed ({type(outcome).__name__})"
        elif not isinstance(outcome, dict) or outcome.get("resourceType") != "Medication":
            errors[ref] = "the server returned no Medication"
        else:
            found[ref] = outcome
    return found, errors
