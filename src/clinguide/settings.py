"""Run-time settings from the environment (prefix CLINGUIDE_). Read on each call so tests can change them."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _list(name: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in os.environ.get(name, "").split(",") if part.strip())


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
    )
