"""The validated knowledge base, pickled in the user's cache directory so that a command starts fast.

The file is named after the pack's YAML files' and the kb code's paths, sizes and times (``path_for``),
so a changed pack or schema is loaded from YAML and validated again (``kb/loader.py:load``), never
served from a stale pickle. A cache hit needs neither the loader nor YAML.

Two things keep a read cheap (it is on the path of every ``clinguide check``):

- pydantic models are written as ``(class, fields, fields set)`` and rebuilt without running their
  Python ``__setstate__`` (about 3,700 objects in the shipped pack);
- the largest fields that checking an order does not read (``LAZY_FIELDS``: the statements that
  ``ask`` and ``assess`` quote, the imported RxNorm code lists) stay pickled bytes until first used
  (``kb/knowledge.py:_Pickled``), so ``check`` does not unpickle them at all.
"""

from __future__ import annotations

import copy
import io
import os
import pickle
from pathlib import Path
from typing import Any

from clinguide.kb.knowledge import LAZY_FIELDS, KnowledgeBase

FORMAT = 2  # part of the file name: a reader never meets another format
PACK_DIR = Path(__file__).resolve().parent.parent / "knowledge"


def path_for(pack_dir: Path) -> Path:
    """The cache file of ``pack_dir`` (no file is read: names, sizes and modification times).

    Every YAML file under the pack is part of the key, and so are the kb package's own modules (a
    schema change never loads a stale pickle) and the versions of Python and pydantic, whose objects
    the pickle holds.
    """
    import hashlib
    import sys

    from pydantic.version import VERSION as PYDANTIC_VERSION

    from clinguide import __version__

    hasher = hashlib.sha256(f"{__version__}:{FORMAT}:{sys.version}:{PYDANTIC_VERSION}:{pack_dir}".encode())
    for path in [*sorted(Path(__file__).parent.glob("*.py")), *sorted(pack_dir.rglob("*.yaml"))]:
        stat = path.stat()
        hasher.update(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    root = Path(os.environ.get("CLINGUIDE_CACHE_DIR") or Path.home() / ".cache" / "clinguide")
    return root / f"kb-{hasher.hexdigest()[:20]}.pickle"


def read(path: Path) -> KnowledgeBase | None:
    """The knowledge base pickled at ``path``, or None (missing, unreadable: then removed)."""
    try:
        with path.open("rb") as handle:
            kb = pickle.load(handle)
    except FileNotFoundError:
        return None
    except Exception:  # a stale or unreadable cache is rebuilt, never trusted
        path.unlink(missing_ok=True)
        return None
    if not isinstance(kb, KnowledgeBase):
        path.unlink(missing_ok=True)
        return None
    return kb


def write(path: Path, kb: KnowledgeBase) -> None:
    """Pickle ``kb`` to ``path`` atomically; a read-only cache directory is not an error."""
    light = copy.copy(kb)
    light.__dict__["_lazy_fields"] = {name: dumps(getattr(kb, name)) for name in LAZY_FIELDS}
    for name in LAZY_FIELDS:
        light.__dict__.pop(name, None)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(dumps(light))
        tmp.replace(path)
    except OSError:
        pass  # read-only home: run without the cache


def dumps(value: Any) -> bytes:
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump(value)
    return buffer.getvalue()


class _Pickler(pickle.Pickler):
    def reducer_override(self, obj: Any) -> Any:
        from pydantic import BaseModel

        if (isinstance(obj, BaseModel) and getattr(obj, "__pydantic_extra__", None) is None
                and getattr(obj, "__pydantic_private__", None) is None):
            return _rebuild, (type(obj), obj.__dict__, obj.__pydantic_fields_set__)
        return NotImplemented


def _rebuild(cls: type, fields: dict[str, Any], fields_set: set[str]) -> Any:
    """A pydantic model instance as ``BaseModel.__setstate__`` leaves it (no extra, no private attributes)."""
    obj = object.__new__(cls)
    object.__setattr__(obj, "__dict__", fields)
    object.__setattr__(obj, "__pydantic_fields_set__", fields_set)
    object.__setattr__(obj, "__pydantic_extra__", None)
    object.__setattr__(obj, "__pydantic_private__", None)
    return obj
