"""The pydantic-settings model of every CLINGUIDE_* variable (imported by ``clinguide.settings`` when
settings are first read: a one-shot command that needs none does not pay for pydantic-settings)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from clinguide.settings import DEFAULT_DATA_DIR, PREFIX, SettingError

CommaList = Annotated[tuple[str, ...], NoDecode]


class Settings(BaseSettings):
    """Every CLINGUIDE_* variable; the description says what is accepted (quoted in errors)."""

    # get_settings() notices a change of the upper-case names (CLINGUIDE_API_AUTH), the documented spelling
    model_config = SettingsConfigDict(env_prefix=PREFIX, env_ignore_empty=True, extra="ignore", frozen=True)

    data_dir: Path = Field(Path(DEFAULT_DATA_DIR), description="a directory path")
    # default: a SQLite file in data_dir (set after validation)
    database_url: str = Field("", description="an SQLAlchemy URL (sqlite:///… or postgresql+psycopg://…)")
    approvals_required: int = Field(1, ge=1, le=100, description="a whole number 1–100")
    cds_allow_unsigned: bool = Field(False, description="1/true/yes/on or 0/false/no/off")
    cds_issuers: CommaList = Field((), description="comma-separated issuer URLs")
    cds_jwks_file: str | None = Field(None, description="a path to a JWK Set file")
    cds_service_base_url: str | None = Field(None, validation_alias="CLINGUIDE_CDS_BASE_URL",
                                             description="the public base URL of the CDS service")
    max_body_bytes: int = Field(1_000_000, ge=1, le=1_000_000_000, description="a whole number of bytes, 1–10⁹")
    cors_origins: CommaList = Field(("https://sandbox.cds-hooks.org",), description="comma-separated origins")
    # JWK Set URLs (jku) the CDS service may fetch; any other jku is never fetched
    cds_jku_allow: CommaList = Field((), description="comma-separated JWK Set URLs")
    # pin "now" (ISO date/time) for CDS evaluation, e.g. 2023-05-01 for the public test requests
    cds_now: str | None = Field(None, description="an ISO date or date-time, e.g. 2023-05-01")
    # FHIR servers the CDS service may read (see service/cds/allowlist.py): per trusted JWT issuer
    # (a JSON object, inline or in a file), and for unsigned development calls
    cds_fhir_servers: str | None = Field(None, description="a JSON object (or a file holding one)")
    cds_fhir_servers_unsigned: CommaList = Field((), description="comma-separated FHIR base URLs")
    # editorial credentials: bearer-token lifetime, web-session idle timeout and absolute lifetime
    editorial_token_days: int = Field(90, ge=1, le=3650, description="a whole number 1–3650")
    editorial_session_idle_minutes: int = Field(30, ge=1, le=24 * 60, description="a whole number 1–1440")
    editorial_session_max_hours: int = Field(12, ge=1, le=24 * 30, description="a whole number 1–720")
    # /api/* authentication: off (default), "key" (X-API-Key or Bearer API key), "jwt" (CDS client JWT
    # rules) or "key-or-jwt"; keys are given as SHA-256 hex digests or as plain keys
    api_keys: CommaList = Field((), description="comma-separated keys or sha256:<hex> digests")
    api_auth: Literal["off", "key", "jwt", "key-or-jwt"] = Field("off", description="off, key, jwt or key-or-jwt")
    # per-client rate limit for /api/* and /cds-services/* (0: off), and the burst allowed above it
    rate_limit_per_minute: int = Field(0, ge=0, le=1_000_000, description="a whole number 0–1000000")
    rate_limit_burst: int = Field(0, ge=0, le=1_000_000, description="a whole number 0–1000000")
    # per-worker memo of deterministic evaluations (CDS hooks, /api/check): entries kept (0: off); see
    # service/memo.py and README, "Result memo"
    result_cache_size: int = Field(1024, ge=0, le=1_000_000, description="a whole number 0–1000000 (0: off)")

    @field_validator("*", mode="before")
    @classmethod
    def _strip(cls, value: Any) -> Any:
        return value.strip() if isinstance(value, str) else value

    @field_validator("cds_issuers", "cors_origins", "cds_jku_allow", "cds_fhir_servers_unsigned", "api_keys",
                     mode="before")
    @classmethod
    def _comma_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @field_validator("api_auth", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _defaults(self) -> Settings:
        data_dir = self.data_dir.resolve()
        object.__setattr__(self, "data_dir", data_dir)
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{data_dir / 'clinguide.db'}")
        if not self.cors_origins:  # an empty list after splitting: the default, as before
            object.__setattr__(self, "cors_origins", ("https://sandbox.cds-hooks.org",))
        return self


def env_name(field: str) -> str:
    info = Settings.model_fields[field]
    alias = info.validation_alias
    return alias if isinstance(alias, str) else PREFIX + field.upper()


_PROBLEMS = {
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "greater_than_equal": "is out of range",
    "less_than_equal": "is out of range",
    "bool_parsing": "is not a yes/no value",
    "literal_error": "is not one of the accepted values",
}


def setting_error(exc: ValidationError) -> SettingError:
    lines = []
    first: str | None = None
    for err in exc.errors():
        field = str(err["loc"][0]) if err["loc"] else ""
        if field not in Settings.model_fields:  # the alias itself is the location
            field = next((f for f in Settings.model_fields if env_name(f) == field), field)
        name = env_name(field) if field in Settings.model_fields else field
        first = first or name
        raw = os.environ.get(name, "")
        accepted = Settings.model_fields[field].description if field in Settings.model_fields else None
        problem = _PROBLEMS.get(err["type"], f"is not accepted ({err['msg']})")
        lines.append(f"{name}={raw[:80]!r} {problem} (accepted: {accepted or 'see README, Configuration'})")
    return SettingError("; ".join(lines), first)
