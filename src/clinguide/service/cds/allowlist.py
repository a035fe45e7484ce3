"""Which FHIR servers the CDS service may read from — and so send the EHR's access token to.

A request's ``fhirServer`` is followed only when it matches an entry configured for the caller:

* ``CLINGUIDE_CDS_FHIR_SERVERS``: a JSON object ``{"<JWT iss>": ["https://ehr.example.org/fhir", …]}``,
  inline or as the path of a JSON file; each trusted issuer may only name its own servers.
* ``CLINGUIDE_CDS_FHIR_SERVERS_UNSIGNED``: comma-separated bases for unsigned development calls
  (``CLINGUIDE_CDS_ALLOW_UNSIGNED``), e.g. a local HAPI server ``http://127.0.0.1:8080/fhir``.

An entry matches exactly its scheme, host and port, and its path or a path below it. The scheme is
https unless the entry itself says ``http://``. Hosts are compared as written, never resolved, so a
loopback, link-local or private address (or ``localhost``) is reachable only when it is listed itself.
URLs with user info, a query, a fragment or dot segments never match. Nothing is fetched otherwise.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from clinguide.settings import get_settings

log = logging.getLogger("clinguide.cds")

_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True)
class Base:
    scheme: str
    host: str
    port: int
    path: str  # without a trailing slash


def parse_base(url: str) -> Base | None:
    """The parts of an absolute http(s) URL, or None for anything this module will not follow."""
    if not isinstance(url, str) or any(ch in url for ch in "\\\r\n\t "):
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username is not None or parts.password is not None:
        return None
    if parts.query or parts.fragment or "%2e" in parts.path.lower() or "%2f" in parts.path.lower():
        return None
    segments = parts.path.split("/")
    if any(seg in (".", "..") for seg in segments):
        return None
    return Base(scheme, parts.hostname.lower().rstrip("."), port or _DEFAULT_PORTS[scheme], parts.path.rstrip("/"))


def _load(value: str) -> dict[str, list[str]]:
    text = value
    if not value.lstrip().startswith("{"):
        try:
            text = Path(value).read_text(encoding="utf-8")
        except OSError:
            log.error("CLINGUIDE_CDS_FHIR_SERVERS is neither a JSON object nor a readable file")
            return {}
    try:
        data = json.loads(text)
    except ValueError:
        log.error("CLINGUIDE_CDS_FHIR_SERVERS is not valid JSON")
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(k): [str(u) for u in v] for k, v in data.items() if isinstance(v, list)}


def entries_for(issuer: str | None) -> list[Base]:
    """The allowed bases for a verified JWT issuer, or for an unsigned development call (issuer None)."""
    settings = get_settings()
    if issuer is None:
        raw = list(settings.cds_fhir_servers_unsigned) if settings.cds_allow_unsigned else []
    else:
        raw = _load(settings.cds_fhir_servers).get(issuer, []) if settings.cds_fhir_servers else []
    out = []
    for text in raw:
        base = parse_base(text if "://" in text else f"https://{text}")
        if base is None:
            log.error("ignored FHIR server allow-list entry that is not a plain http(s) URL")
        else:
            out.append(base)
    return out


def matches(url: str, entry: Base) -> bool:
    base = parse_base(url)
    if base is None or (base.scheme, base.host, base.port) != (entry.scheme, entry.host, entry.port):
        return False
    return base.path == entry.path or base.path.startswith(entry.path + "/")


def permitted(url: str | None, issuer: str | None) -> bool:
    """True when clinguide may read ``url`` (and send the caller's token there) for this caller."""
    return bool(url) and any(matches(str(url), entry) for entry in entries_for(issuer))
