"""Settings from CLINGUIDE_* variables (pydantic-settings): defaults, parsing, and errors that name the variable."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from clinguide.settings import SettingError, get_settings


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.startswith("CLINGUIDE_"):
            monkeypatch.delenv(name)


def test_defaults_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = get_settings()
    assert s.data_dir == (tmp_path / "var").resolve()
    assert s.database_url == f"sqlite:///{tmp_path.resolve() / 'var' / 'clinguide.db'}"
    assert (s.approvals_required, s.max_body_bytes, s.editorial_token_days) == (1, 1_000_000, 90)
    assert (s.editorial_session_idle_minutes, s.editorial_session_max_hours) == (30, 12)
    assert s.cors_origins == ("https://sandbox.cds-hooks.org",)
    assert s.cds_allow_unsigned is False and s.api_auth == "off" and s.api_keys == ()
    assert (s.rate_limit_per_minute, s.rate_limit_burst) == (0, 0)
    assert s.cds_service_base_url is None and s.cds_now is None and s.cds_fhir_servers is None


def test_values_are_parsed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLINGUIDE_CORS_ORIGINS", " https://a.example , https://b.example,")
    monkeypatch.setenv("CLINGUIDE_CDS_ALLOW_UNSIGNED", "yes")
    monkeypatch.setenv("CLINGUIDE_CDS_BASE_URL", "https://cds.example/")
    monkeypatch.setenv("CLINGUIDE_API_AUTH", " KEY ")
    monkeypatch.setenv("CLINGUIDE_RATE_LIMIT_PER_MINUTE", "120")
    monkeypatch.setenv("CLINGUIDE_MAX_BODY_BYTES", "")  # empty: the default
    s = get_settings()
    assert s.cors_origins == ("https://a.example", "https://b.example")
    assert s.cds_allow_unsigned is True and s.cds_service_base_url == "https://cds.example/"
    assert s.api_auth == "key" and s.rate_limit_per_minute == 120 and s.max_body_bytes == 1_000_000


def test_a_change_in_the_environment_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    first = get_settings()
    assert get_settings() is first  # nothing changed: not parsed again
    monkeypatch.setenv("CLINGUIDE_APPROVALS_REQUIRED", "2")
    assert get_settings().approvals_required == 2


@pytest.mark.parametrize(
    ("name", "value", "accepted"),
    [
        ("CLINGUIDE_EDITORIAL_TOKEN_DAYS", "ninety", "1–3650"),
        ("CLINGUIDE_EDITORIAL_TOKEN_DAYS", "0", "1–3650"),
        ("CLINGUIDE_MAX_BODY_BYTES", "1MB", "a whole number of bytes"),
        ("CLINGUIDE_APPROVALS_REQUIRED", "two", "1–100"),
        ("CLINGUIDE_CDS_ALLOW_UNSIGNED", "maybe", "1/true"),
        ("CLINGUIDE_API_AUTH", "password", "off, key"),
        ("CLINGUIDE_RATE_LIMIT_BURST", "-1", "0–1000000"),
    ],
)
def test_a_bad_value_names_the_variable_and_what_is_accepted(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, accepted: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError) as exc:
        get_settings()
    message = str(exc.value)
    assert message.startswith(f"{name}={value!r} is ") and "(accepted: " in message and accepted in message
    assert exc.value.field == name


def test_database_url_without_the_model_matches_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from clinguide.settings import database_url

    monkeypatch.chdir(tmp_path)
    assert database_url() == get_settings().database_url
    monkeypatch.setenv("CLINGUIDE_DATA_DIR", str(tmp_path / "elsewhere"))
    assert database_url() == get_settings().database_url == f"sqlite:///{tmp_path / 'elsewhere' / 'clinguide.db'}"
    monkeypatch.setenv("CLINGUIDE_DATABASE_URL", "postgresql+psycopg://u@h:5432/db")
    assert database_url() == get_settings().database_url == "postgresql+psycopg://u@h:5432/db"


def test_the_cli_exits_2_with_the_message_and_no_traceback(tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("clinguide")
    env = {"PATH": "/usr/bin:/bin", "CLINGUIDE_DATA_DIR": str(tmp_path), "CLINGUIDE_EDITORIAL_TOKEN_DAYS": "lots"}
    out = subprocess.run([str(exe), "serve", "--port", "1"], capture_output=True, text=True, env=env, check=False,
                         timeout=120)
    assert out.returncode == 2, out.stderr
    assert "CLINGUIDE_EDITORIAL_TOKEN_DAYS='lots' is not a whole number" in out.stderr
    assert "1–3650" in out.stderr and "Traceback" not in out.stderr and out.stdout == ""


def test_a_postgresql_url_without_its_driver_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    from clinguide.editorial import db

    real_import = builtins.__import__

    def no_psycopg(name: str, *args: object, **kwargs: object) -> object:
        if name == "psycopg" or name.startswith("psycopg."):
            raise ModuleNotFoundError(f"No module named '{name}'", name=name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_psycopg)
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none_such_db_for_driver_test"
    with pytest.raises(db.StoreUnavailable, match=r"psycopg is not installed.*clinguide\[postgres\]"):
        db.get_engine(url)
    assert url not in db._engines
