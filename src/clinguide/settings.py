"""Run-time settings from the environment (prefix CLINGUIDE_). Read on each call so tests can change them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _list(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


class SettingError(ValueError):
    """An environment variable holds a value that is not accepted; the message names it."""


def _int(name: str, default: int, low: int, high: int) -> int:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingError(f"{name}={raw!r} is not a whole number (accepted: {low}–{high})") from None
    if not low <= value <= high:
        raise SettingError(f"{name}={value} is out of range (accepted: {low}–{high})")
    return value


def _choice(name: str, default: str, accepted: tuple[str, ...]) -> str:
    raw = os.environ.get(name, "").strip().lower() or default
    if raw not in accepted:
        raise SettingError(f"{name}={raw!r} is not accepted (accepted: {', '.join(accepted)})")
    return raw


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    database_url: str
    approvals_required: int
    cds_allow_unsigned: bool
    cds_issuers: tuple[str, ...]
    cds_jwks_file: str | None
    cds_service_base_url: str | None
    max_body_bytes: int
    cors_origins: tuple[str, ...]
    cds_jku_allow: tuple[str, ...] = ()
    cds_now: str | None = None
    # FHIR servers the CDS service may read (see service/cds/allowlist.py): per trusted JWT issuer
    # (a JSON object, inline or in a file), and for unsigned development calls
    cds_fhir_servers: str | None = None
    cds_fhir_servers_unsigned: tuple[str, ...] = ()
    editorial_token_days: int = 90
    editorial_session_idle_minutes: int = 30
    editorial_session_max_hours: int = 12
    api_keys: tuple[str, ...] = ()
    api_auth: str = "off"
    rate_limit_per_minute: int = 0
    rate_limit_burst: int = 0


def get_settings() -> Settings:
    data_dir = Path(os.environ.get("CLINGUIDE_DATA_DIR", "var")).resolve()
    default_db = f"sqlite:///{data_dir / 'clinguide.db'}"
    return Settings(
        data_dir=data_dir,
        database_url=os.environ.get("CLINGUIDE_DATABASE_URL", default_db),
        approvals_required=int(os.environ.get("CLINGUIDE_APPROVALS_REQUIRED", "1")),
        cds_allow_unsigned=_flag("CLINGUIDE_CDS_ALLOW_UNSIGNED"),
        cds_issuers=_list("CLINGUIDE_CDS_ISSUERS"),
        cds_jwks_file=os.environ.get("CLINGUIDE_CDS_JWKS_FILE") or None,
        cds_service_base_url=os.environ.get("CLINGUIDE_CDS_BASE_URL") or None,
        max_body_bytes=int(os.environ.get("CLINGUIDE_MAX_BODY_BYTES", str(1_000_000))),
        cors_origins=_list("CLINGUIDE_CORS_ORIGINS") or ("https://sandbox.cds-hooks.org",),
        # JWK Set URLs (jku) the CDS service may fetch; any other jku is never fetched
        cds_jku_allow=_list("CLINGUIDE_CDS_JKU_ALLOW"),
        # pin "now" (ISO date/time) for CDS evaluation, e.g. 2023-05-01 for the public test requests
        cds_now=os.environ.get("CLINGUIDE_CDS_NOW") or None,
        cds_fhir_servers=os.environ.get("CLINGUIDE_CDS_FHIR_SERVERS") or None,
        cds_fhir_servers_unsigned=_list("CLINGUIDE_CDS_FHIR_SERVERS_UNSIGNED"),
        # editorial credentials: bearer-token lifetime, web-session idle timeout and absolute lifetime
        editorial_token_days=_int("CLINGUIDE_EDITORIAL_TOKEN_DAYS", 90, 1, 3650),
        editorial_session_idle_minutes=_int("CLINGUIDE_EDITORIAL_SESSION_IDLE_MINUTES", 30, 1, 24 * 60),
        editorial_session_max_hours=_int("CLINGUIDE_EDITORIAL_SESSION_MAX_HOURS", 12, 1, 24 * 30),
        # /api/* authentication: off (default), "key" (X-API-Key or Bearer API key), "jwt" (CDS client JWT
        # rules) or "key-or-jwt"; keys are given as SHA-256 hex digests or as plain keys
        api_auth=_choice("CLINGUIDE_API_AUTH", "off", ("off", "key", "jwt", "key-or-jwt")),
        api_keys=_list("CLINGUIDE_API_KEYS"),
        # per-client rate limit for /api/* and /cds-services/* (0: off), and the burst allowed above it
        rate_limit_per_minute=_int("CLINGUIDE_RATE_LIMIT_PER_MINUTE", 0, 0, 1_000_000),
        rate_limit_burst=_int("CLINGUIDE_RATE_LIMIT_BURST", 0, 0, 1_000_000),
    )
