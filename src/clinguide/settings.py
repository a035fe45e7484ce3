"""Run-time settings from the environment (prefix CLINGUIDE_), read with pydantic-settings.

``get_settings()`` re-reads the environment on each call (tests change it), but parses it only when a
CLINGUIDE_* variable or the working directory changed since the last call: a request pays a dict
comparison, not a model validation. A value that is not accepted raises :class:`SettingError` naming
the variable, the value and what is accepted (the CLI exits 2 with it; ``serve`` refuses to start).

``database_url()`` answers the one question every CLI call asks (is there an editorial store?)
without importing pydantic-settings, which costs a one-shot command ~0.1 s of start-up.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from clinguide.errors import InputError

if TYPE_CHECKING:
    from clinguide.settings_model import Settings

PREFIX = "CLINGUIDE_"
DEFAULT_DATA_DIR = "var"


class SettingError(InputError):
    """An environment variable holds a value that is not accepted; the message names it."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message, field)


_lock = threading.Lock()
_cached: tuple[tuple[str | None, ...], Settings] | None = None
_names: tuple[str, ...] = ()  # every variable the model reads (set when it is first imported)
_raw_names: tuple[bytes, ...] = ()


def database_url() -> str:
    """CLINGUIDE_DATABASE_URL, or the SQLite file in the data directory (as ``Settings`` computes it)."""
    url = os.environ.get(PREFIX + "DATABASE_URL", "").strip()
    if url:
        return url
    data_dir = Path(os.environ.get(PREFIX + "DATA_DIR", "").strip() or DEFAULT_DATA_DIR).resolve()
    return f"sqlite:///{data_dir / 'clinguide.db'}"


def _watched() -> tuple[Any, ...]:
    """The working directory and the value of every variable the model reads: a few dictionary lookups
    (``os.environ.get`` of an unset name costs an exception; the raw mapping is read when there is one)."""
    raw = getattr(os.environ, "_data", None)
    if isinstance(raw, dict) and os.name == "posix":
        return (os.getcwd(), *(raw.get(name) for name in _raw_names))
    return (os.getcwd(), *(os.environ.get(name) for name in _names))


def get_settings() -> Settings:
    """The settings for the current environment (parsed again only when it changed)."""
    global _cached, _names, _raw_names
    key = _watched()
    cached = _cached
    if cached is not None and cached[0] == key:
        return cached[1]
    from pydantic import ValidationError

    from clinguide.settings_model import Settings, env_name, setting_error

    if not _names:
        _names = tuple(env_name(field) for field in Settings.model_fields)
        _raw_names = tuple(os.fsencode(name) for name in _names)
        key = _watched()

    try:
        settings = Settings()
    except ValidationError as exc:
        raise setting_error(exc) from None
    with _lock:
        _cached = (key, settings)
    return settings


def __getattr__(name: str) -> Any:
    if name == "Settings":  # the model, imported on first use
        from clinguide.settings_model import Settings

        return Settings
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
