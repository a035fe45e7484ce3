"""The proposal state machine and who may move it, with no database in sight.

    draft → submitted → under-review → approved | rejected;  approved → retired

Roles are cumulative (author < reviewer < editor): an editor may do what a reviewer may.
"""

from __future__ import annotations

from dataclasses import dataclass

from clinguide.editorial.errors import Forbidden, IllegalTransition

STATES = ("draft", "submitted", "under-review", "approved", "rejected", "retired")
ACTIONS = ("submit", "start-review", "approve", "reject", "retire")
# (state, action) -> next state. Anything not listed is illegal.
TRANSITIONS: dict[tuple[str, str], str] = {
    ("draft", "submit"): "submitted",
    ("submitted", "start-review"): "under-review",
    ("under-review", "approve"): "approved",
    ("under-review", "reject"): "rejected",
    ("approved", "retire"): "retired",
}
ROLES = ("author", "reviewer", "editor")
_RANK = {role: rank for rank, role in enumerate(ROLES, start=1)}
# The least role each action needs.
NEEDS_ROLE = {
    "propose": "author",
    "submit": "author",
    "start-review": "reviewer",
    "approve": "reviewer",
    "reject": "reviewer",
    "retire": "editor",
}
QUEUE_STATES = ("submitted", "under-review")
OPEN_STATES = ("draft", "submitted", "under-review")
ADMIN = "cli-admin"  # actor name of local administrative actions (creating users)


def next_state(state: str, action: str) -> str:
    """The state after ``action``; IllegalTransition names what is allowed from ``state``."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        allowed = [a for (s, a) in TRANSITIONS if s == state]
        hint = f"allowed from '{state}': {', '.join(allowed)}" if allowed else f"'{state}' is final"
        raise IllegalTransition(f"cannot {action} a proposal that is {state} ({hint})") from None


@dataclass(frozen=True)
class Actor:
    """Who acts: a user of the store (``id``), or the local administrator (``id`` None)."""

    id: int | None
    name: str
    role: str

    def can(self, action: str) -> bool:
        return _RANK.get(self.role, 0) >= _RANK[NEEDS_ROLE[action]]


def local_admin() -> Actor:
    """The actor of administrative commands run on the server itself (no token)."""
    return Actor(None, ADMIN, "editor")


def require(actor: Actor, action: str) -> None:
    """Forbidden unless the actor's role may ``action``."""
    if not actor.can(action):
        raise Forbidden(f"{action} needs the role {NEEDS_ROLE[action]} or higher; {actor.name} is {actor.role}")


def require_not_author(actor: Actor, author_id: int, proposal_id: int, what: str) -> None:
    """Forbidden when the actor wrote the proposal: nobody reviews their own change."""
    if author_id == actor.id:
        raise Forbidden(f"{actor.name} wrote proposal {proposal_id} and cannot {what} it")
