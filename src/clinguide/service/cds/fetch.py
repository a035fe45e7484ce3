"""Read what prefetch did not bring from the EHR's FHIR server (httpx, bounded time, bearer token)."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import quote

import httpx

TIMEOUT = httpx.Timeout(5.0, connect=2.0)
MAX_PAGES = 5
_QUERIES = {
    "Patient": "Patient/{pid}",
    "MedicationRequest": "MedicationRequest?patient={pid}&status=active",
    "Condition": "Condition?patient={pid}&clinical-status=active",
    "AllergyIntolerance": "AllergyIntolerance?patient={pid}&clinical-status=active",
    "Procedure": "Procedure?patient={pid}&_sort=-date&_count=20",
}


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
        if not nxt or not str(nxt).startswith(base.rstrip("/")):  # never follow a link off the server
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
