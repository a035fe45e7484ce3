"""The pickled pack cache (kb/cache.py, kb/loader.py:load): same knowledge base, never stale, never trusted blindly."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import pytest

from clinguide.kb import cache as kb_cache
from clinguide.kb.loader import PackError, _load, load

MINIPACK = Path(__file__).resolve().parent.parent / "fixtures" / "minipack"


@pytest.fixture()
def pack(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CLINGUIDE_CACHE_DIR", str(tmp_path / "cache"))
    target = tmp_path / "pack"
    shutil.copytree(MINIPACK, target)
    return target


def test_cached_load_equals_a_fresh_load(pack):
    first = load(pack)
    assert kb_cache.path_for(pack).is_file()
    second = load(pack)
    assert second is not first  # read from the pickle
    assert set(second.__dict__.get("_lazy_fields", {})) == set(kb_cache.LAZY_FIELDS)
    fresh = _load(pack, None, True)
    assert second == fresh
    for name in kb_cache.LAZY_FIELDS:
        assert getattr(second, name) == getattr(fresh, name)
        assert name in second.__dict__  # unpickled once, then a plain attribute
    assert second.drugs == fresh.drugs and second.version == fresh.version


def test_lazy_fields_load_on_first_use_and_models_are_whole(pack):
    load(pack)
    kb = load(pack)
    assert "statements" not in kb.__dict__ and "code_lists" not in kb.__dict__
    statements = kb.statements
    assert statements is kb.statements
    for drug in kb.drugs.values():
        assert drug.model_dump() == drug.model_validate(drug.model_dump()).model_dump()
        assert drug.__pydantic_fields_set__ and drug.__pydantic_extra__ is None
    with pytest.raises(AttributeError):
        _ = kb.no_such_field
    assert pickle.loads(pickle.dumps(kb)) == kb


def test_a_changed_pack_is_validated_again_not_served_from_the_cache(pack):
    load(pack)
    old = kb_cache.path_for(pack)
    drugs = sorted((pack / "drugs").glob("*.yaml"))[0]
    text = drugs.read_text(encoding="utf-8")
    drugs.write_text(text + "\n  - id: Not An Id\n", encoding="utf-8")  # an invalid item appended
    os.utime(drugs, ns=(drugs.stat().st_atime_ns, drugs.stat().st_mtime_ns + 1_000_000))
    assert kb_cache.path_for(pack) != old
    with pytest.raises(PackError):
        load(pack)


def test_an_unreadable_cache_is_rebuilt(pack):
    load(pack)
    path = kb_cache.path_for(pack)
    path.write_bytes(b"not a pickle")
    kb = load(pack)
    assert kb == _load(pack, None, True)
    assert pickle.loads(path.read_bytes()) is not None  # written anew


def test_overlay_and_non_strict_loads_bypass_the_cache(pack):
    load(pack, strict=False)
    assert not kb_cache.path_for(pack).exists()
