"""Per-worker memo of deterministic evaluations (CDS hooks, /api/check), and card ids per hook call.

An EHR fires order-select / order-sign again and again for the same patient and draft while the
clinician edits, and a client checks the same order again: the evaluation is a pure function of the
clinical input, the knowledge pack's content version and (for CDS) the evaluation date, so its answer
can be kept and served again without running the engine.

What is safe here, and why:

* The key is a BLAKE2b digest of the exact clinical input — for a hook call: hook, context,
  prefetch, fhirServer and the other body members except ``hookInstance`` and ``fhirAuthorization``,
  as parsed (serialised in the order sent: a reordered body is a different key, never a different
  answer); for /api/check: the body's bytes — plus the knowledge version (an approved editorial change makes a new one),
  the verified JWT issuer and whether the request's FHIR server is on the allow-list for it (a
  setting), and the evaluation date (the exact time when the input holds a Procedure: hours since
  surgery). An entry is only ever
  served for the very same input: nothing patient-specific crosses to another input.
* Only answers made from the request alone are kept: a hook call that read the EHR's FHIR server is
  evaluated afresh each time (the record there can change). A request that fails validation raises
  before anything is stored, so the same bad request fails the same way again.
* Bounded (least recently used out): ``CLINGUIDE_RESULT_CACHE_SIZE`` entries per memo and worker,
  none larger than ``MAX_ENTRY_BYTES``; 0 turns it off (every request is evaluated).
* Card and suggestion ``uuid``s (and the ids of MedicationRequests a suggestion creates) are not
  kept: each answer is rendered with ids derived from the call's ``hookInstance`` and the input's
  digest (UUID v5), so every hook call gets its own ids, with the memo on or off alike.
"""

from __future__ import annotations

import hashlib
import marshal
import threading
import uuid
from collections import OrderedDict
from collections.abc import Hashable, Sized
from typing import Any, Generic, TypeVar

from clinguide.service.errors import json_bytes

V = TypeVar("V", bound=Sized)

# namespace of the UUID v5 card ids (a fixed random UUID: ids of clinguide cards only)
CARD_ID_NAMESPACE = uuid.UUID("6f1c2d0a-4b7e-4c35-9a52-0c8f3e9b7d41")
CREATED_ID_PREFIX = "clinguide-"


# an answer larger than this is not kept (a worker's memo stays within size x this, whatever is sent)
MAX_ENTRY_BYTES = 256 * 1024


class Memo(Generic[V]):
    """A bounded, thread-safe LRU map; ``size`` 0 keeps nothing."""

    def __init__(self, size: int) -> None:
        self.size = max(0, size)
        self._items: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.size > 0

    def get(self, key: Hashable) -> V | None:
        if not self.size:
            return None
        with self._lock:
            value = self._items.get(key)
            if value is None:
                self.misses += 1
                return None
            self._items.move_to_end(key)
            self.hits += 1
            return value

    def put(self, key: Hashable, value: V) -> None:
        if not self.size or len(value) > MAX_ENTRY_BYTES:
            return
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def digest(*parts: bytes | str) -> bytes:
    hasher = hashlib.blake2b(digest_size=20)
    for part in parts:
        raw = part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part
        hasher.update(len(raw).to_bytes(8, "little"))
        hasher.update(raw)
    return hasher.digest()


VOLATILE_HOOK_FIELDS = frozenset({"hookInstance", "fhirAuthorization"})


def hook_input(payload: dict[str, Any]) -> bytes:
    """The clinical input of a hook call, exactly: everything but the call's id and token, serialised with
    ``marshal`` (JSON data only here: it writes every value with its type, and is ~5x faster than JSON)."""
    return marshal.dumps({k: v for k, v in payload.items() if k not in VOLATILE_HOOK_FIELDS})


def hook_key(service_id: str, payload: dict[str, Any], knowledge_version: str, issuer: str | None, now: Any,
             server_allowed: bool | None = None) -> bytes:
    """The memo key of a hook call (see the module docstring for what it holds and why); ``server_allowed``:
    whether the request's fhirServer is on the allow-list for this caller (a setting) — it changes the answer."""
    text = hook_input(payload)
    # age counts whole days; hours since surgery count time: the exact time when a Procedure may be sent
    when = now.isoformat() if b"Procedure" in text else now.date().isoformat()
    hasher = hashlib.blake2b(text, digest_size=20)  # a marshal stream ends itself: what follows cannot blur it
    hasher.update(marshal.dumps((service_id, knowledge_version, issuer, when, server_allowed)))
    return hasher.digest()


class CardsAnswer:
    """A hook answer as JSON text with its card/suggestion ids cut out, rendered per call with new ids."""

    __slots__ = ("cards", "parts", "slots")

    def __init__(self, parts: list[bytes], slots: list[tuple[int, bool]], cards: int = 0) -> None:
        self.parts = parts  # UTF-8 text around the ids: len(slots) + 1 pieces
        self.slots = slots  # for each id in the text: (which distinct id, is it a created resource id)
        self.cards = cards  # how many cards (for the log)

    @classmethod
    def of(cls, result: dict[str, Any]) -> CardsAnswer:
        ids: dict[str, tuple[int, bool]] = {}

        def add(value: Any, created: bool = False) -> None:
            if isinstance(value, str) and value and value not in ids:
                ids[value] = (len(ids), created)

        for card in result.get("cards", []):
            add(card.get("uuid"))
            for suggestion in card.get("suggestions") or []:
                add(suggestion.get("uuid"))
                for action in suggestion.get("actions") or []:
                    resource = action.get("resource")
                    if (action.get("type") == "create" and isinstance(resource, dict)
                            and str(resource.get("id", "")).startswith(CREATED_ID_PREFIX)):
                        add(resource["id"], created=True)
        raw = json_bytes(result, "surrogatepass")  # Starlette JSONResponse text: what hooks answered before the memo
        if not ids:
            return cls([raw], [], len(result.get("cards", [])))
        # the ids are random UUIDs (and prefixed hex) just made for this answer, plain ASCII that JSON
        # writes as is: they occur only where the cards placed them (UTF-8 is searched as the text would be)
        needles = {_utf8(value): slot for value, slot in ids.items()}
        parts: list[bytes] = []
        slots: list[tuple[int, bool]] = []
        last = 0
        for start, value in _occurrences(raw, needles):
            parts.append(raw[last:start])
            slots.append(needles[value])
            last = start + len(value)
        parts.append(raw[last:])
        return cls(parts, slots, len(result.get("cards", [])))

    def __len__(self) -> int:
        return sum(len(part) for part in self.parts)  # bytes

    def render(self, hook_instance: str, key: bytes) -> bytes:
        """The answer with ids of this call: UUID v5 of (hookInstance, input digest, position)."""
        if not self.slots:
            return self.parts[0]
        seed = hashlib.sha1(CARD_ID_NAMESPACE.bytes)
        seed.update(f"{hook_instance}\n{key.hex()}\n".encode("utf-8", "surrogatepass"))
        made: dict[int, bytes] = {}
        out = [self.parts[0]]
        for (index, created), part in zip(self.slots, self.parts[1:], strict=True):
            value = made.get(index)
            if value is None:
                new = _uuid5(seed, index)
                value = made[index] = (CREATED_ID_PREFIX + new.replace("-", "")[:12] if created else new).encode()
            out.append(value)
            out.append(part)
        return b"".join(out)


def _occurrences(text: bytes, needles: dict[bytes, Any]) -> list[tuple[int, bytes]]:
    """Where ``needles`` occur in ``text``, left to right, without overlaps: what ``finditer`` of the
    alternation of the needles, longest first, finds — with ``str.find`` instead of compiling that
    pattern (new ids on every call: a compile each, ~40% of an uncached hook call's own time)."""
    found: dict[int, bytes] = {}
    for needle in needles:
        at = text.find(needle)
        while at >= 0:
            if len(needle) > len(found.get(at, b"")):  # the regex's longest-first alternation at one place
                found[at] = needle
            at = text.find(needle, at + 1)
    out: list[tuple[int, bytes]] = []
    end = 0
    for at in sorted(found):
        if at >= end:
            out.append((at, found[at]))
            end = at + len(found[at])
    return out


def _utf8(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _uuid5(seed: Any, index: int) -> str:
    """``str(uuid.uuid5(namespace, name + str(index)))`` for ``seed`` = sha1(namespace bytes + name),
    without building UUID objects (a few per hook call)."""
    sha = seed.copy()
    sha.update(str(index).encode())
    h = sha.hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{'89ab'[int(h[16], 16) & 3]}{h[17:20]}-{h[20:32]}"
