"""The editorial workflow: an explicit state machine over proposals, with every transition audited.

    draft → submitted → under-review → approved | rejected;  approved → retired

Each operation runs in one transaction that also writes its audit row. Approval is guarded
twice: the proposal row is locked (SELECT … FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on
SQLite) and its ``version`` column is bumped with ``UPDATE … WHERE version = :v``; a zero
rowcount means another reviewer won and the loser's transaction is rolled back.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinguide.editorial import db
from clinguide.editorial.models import AuditEntry, ContentVersion, Proposal, Review, User, WebSession, utcnow

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
# The least role each action needs (roles are cumulative: an editor may do what a reviewer may).
NEEDS_ROLE = {
    "propose": "author",
    "submit": "author",
    "start-review": "reviewer",
    "approve": "reviewer",
    "reject": "reviewer",
    "retire": "editor",
}
QUEUE_STATES = ("submitted", "under-review")
ADMIN = "cli-admin"  # actor name of local administrative actions (creating users)

_writes = 0  # committed write transactions in this process: the serving overlay re-reads the store after one


def _note_write() -> None:
    global _writes
    _writes += 1


def write_count() -> int:
    return _writes


# ----- errors ------------------------------------------------------------------
class EditorialError(Exception):
    """A refused operation; ``status`` is the HTTP status the REST API answers with."""

    status = 400
    code = "bad-request"

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.message = message
        self.problems = problems or []


class Unauthorized(EditorialError):
    status, code = 401, "unauthorized"


class Forbidden(EditorialError):
    status, code = 403, "forbidden"


class NotFound(EditorialError):
    status, code = 404, "not-found"


class IllegalTransition(EditorialError):
    status, code = 409, "illegal-transition"


class Conflict(EditorialError):
    status, code = 409, "conflict"


class InvalidContent(EditorialError):
    status, code = 422, "invalid-content"


def next_state(state: str, action: str) -> str:
    """The state after ``action``; IllegalTransition names what is allowed from ``state``."""
    try:
        return TRANSITIONS[(state, action)]
    except KeyError:
        allowed = [a for (s, a) in TRANSITIONS if s == state]
        hint = f"allowed from '{state}': {', '.join(allowed)}" if allowed else f"'{state}' is final"
        raise IllegalTransition(f"cannot {action} a proposal that is {state} ({hint})") from None


# ----- plain results -----------------------------------------------------------
@dataclass(frozen=True)
class Actor:
    id: int | None
    name: str
    role: str

    def can(self, action: str) -> bool:
        return _RANK.get(self.role, 0) >= _RANK[NEEDS_ROLE[action]]


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else _aware(value).isoformat()


def _credential_settings() -> tuple[int, int, int]:
    """(token days, session idle minutes, session max hours) from the settings."""
    from clinguide.settings import get_settings

    settings = get_settings()
    return (
        settings.editorial_token_days,
        settings.editorial_session_idle_minutes,
        settings.editorial_session_max_hours,
    )


def _token_problem(user: User | None, now: dt.datetime) -> str | None:
    """Why this user's token is not accepted now, or None when it is."""
    if user is None:
        return "unknown"
    if not user.active:
        return "inactive"
    if user.token_revoked_at is not None:
        return "revoked"
    if user.token_expires_at is None or _aware(user.token_expires_at) <= now:
        return "expired"
    return None


def _dump(data: Mapping[str, Any]) -> str:
    return yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, width=100)


@dataclass
class ParsedItem:
    kind: str
    item_id: str
    data: dict[str, Any]


def parse_item(kind: str, yaml_text: str) -> ParsedItem:
    """Parse one proposed item and check it against the pack's model for ``kind``.

    Accepts the bare item mapping or the pack's file shape holding exactly one item
    (``statements: [ {...} ]``). Errors name the field and what is accepted.
    """
    from pydantic import ValidationError

    from clinguide.kb.loader import EDITABLE, KINDS

    if kind not in EDITABLE:
        raise EditorialError(f"kind '{kind}' cannot be edited; accepted kinds: {', '.join(EDITABLE)}")
    try:
        doc = yaml.safe_load(yaml_text)
    except yaml.YAMLError as exc:
        raise EditorialError(f"the proposed item is not valid YAML: {exc}") from None
    key = KINDS[kind][1]
    if isinstance(doc, dict) and key and set(doc) == {key}:
        entries = doc[key]
        if not isinstance(entries, list) or len(entries) != 1:
            raise EditorialError(f"'{key}:' must hold exactly one item in a proposal")
        doc = entries[0]
    if not isinstance(doc, dict):
        raise EditorialError(f"the proposed item must be a YAML mapping (one {kind}), not {type(doc).__name__}")
    item_id = doc.get("id")
    if not isinstance(item_id, str) or not item_id:
        raise EditorialError("the proposed item needs an 'id' (a string)")
    model = KINDS[kind][2]
    probe = dict(doc)
    probe["review"] = {"status": "submitted"}  # the review block is set on approval
    try:
        model.model_validate(probe)
    except ValidationError as exc:
        problems = [
            f"{kind} {item_id}: {'.'.join(str(p) for p in err['loc']) or '-'}: {err['msg']}" for err in exc.errors()
        ]
        raise InvalidContent(f"the proposed {kind} '{item_id}' does not fit the pack's model", problems) from None
    return ParsedItem(kind, item_id, doc)


# ----- the store -----------------------------------------------------------------
class EditorialStore:
    """All editorial operations over one database URL and one knowledge-pack directory."""

    def __init__(self, url: str, pack_dir: Path | None = None, approvals_required: int | None = None):
        from clinguide.kb.loader import PACK_DIR

        self.url = url
        self.pack_dir = Path(pack_dir) if pack_dir else PACK_DIR
        self._approvals_required = approvals_required
        self.engine = db.open_engine(url)

    @property
    def approvals_required(self) -> int:
        if self._approvals_required is not None:
            value = self._approvals_required
        else:
            from clinguide.settings import get_settings

            value = get_settings().approvals_required
        if value not in (1, 2):
            raise EditorialError(f"CLINGUIDE_APPROVALS_REQUIRED must be 1 or 2, not {value}")
        return value

    # ----- sessions ----------------------------------------------------------
    @contextmanager
    def _write(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session
        _note_write()

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with Session(self.engine.execution_options(**{db.READ_ONLY: True})) as session, session.begin():
            yield session

    @staticmethod
    def _audit(
        session: Session,
        actor: Actor,
        action: str,
        *,
        proposal: Proposal | None = None,
        kind: str | None = None,
        item_id: str | None = None,
        from_state: str | None = None,
        to_state: str | None = None,
        detail: str = "",
    ) -> None:
        session.add(
            AuditEntry(
                actor_id=actor.id,
                actor_name=actor.name,
                action=action,
                proposal_id=proposal.id if proposal else None,
                kind=kind or (proposal.kind if proposal else None),
                item_id=item_id or (proposal.item_id if proposal else None),
                from_state=from_state,
                to_state=to_state,
                at=utcnow(),
                detail=detail,
            )
        )

    # ----- users -------------------------------------------------------------
    def create_user(
        self, name: str, role: str, actor: Actor | None = None, valid_days: int | None = None
    ) -> tuple[dict[str, Any], str]:
        """Create a user; returns (user, token). Only the token's SHA-256 is stored; it expires after
        ``valid_days`` (default $CLINGUIDE_EDITORIAL_TOKEN_DAYS)."""
        name = name.strip()
        if not name:
            raise EditorialError("a user needs a name")
        if role not in ROLES:
            raise EditorialError(f"role '{role}' is not accepted; use one of: {', '.join(ROLES)}")
        days = _check_days(valid_days)
        token = secrets.token_urlsafe(32)
        actor = actor or Actor(None, ADMIN, "editor")
        now = utcnow()
        expires = (now + dt.timedelta(days=days)).replace(microsecond=0)
        try:
            with self._write() as session:
                if session.scalar(select(User.id).where(User.name == name)) is not None:
                    raise Conflict(f"a user named '{name}' already exists")
                user = User(
                    name=name,
                    role=role,
                    token_hash=hash_token(token),
                    active=True,
                    created_at=now,
                    token_issued_at=now,
                    token_expires_at=expires,
                )
                session.add(user)
                session.flush()
                self._audit(
                    session,
                    actor,
                    "create-user",
                    detail=f"user '{name}' with role {role}; token expires {_iso(expires)}",
                )
        except IntegrityError:
            raise Conflict(f"a user named '{name}' already exists") from None
        return {"id": user.id, "name": user.name, "role": user.role, "token_expires_at": _iso(expires)}, token

    def authenticate(self, token: str | None) -> Actor:
        """The actor of a bearer token that is known, unrevoked, unexpired and of an active user.

        Every refusal says only "not valid": which of those failed is not told to the caller."""
        if not token or len(token) > 500:
            raise Unauthorized("a bearer token is required" if not token else "the token is not valid")
        with self._read() as session:
            user = session.scalar(select(User).where(User.token_hash == hash_token(token.strip())))
            if _token_problem(user, utcnow()) is not None:
                raise Unauthorized("the token is not valid (unknown, expired, revoked, or its user is inactive)")
            assert user is not None
            return Actor(user.id, user.name, user.role)

    def users(self) -> list[dict[str, Any]]:
        now = utcnow()
        with self._read() as session:
            return [
                {
                    "id": u.id,
                    "name": u.name,
                    "role": u.role,
                    "active": u.active,
                    "created_at": _iso(u.created_at),
                    "token_expires_at": _iso(u.token_expires_at),
                    "token_revoked_at": _iso(u.token_revoked_at),
                    "token": _token_problem(u, now) or "valid",
                }
                for u in session.scalars(select(User).order_by(User.id))
            ]

    # ----- credentials ---------------------------------------------------------
    def _user_by_name(self, session: Session, name: str) -> User:
        user = session.scalar(select(User).where(User.name == name.strip()))
        if user is None:
            raise NotFound(f"no user named '{name.strip()}'")
        return user

    def _end_sessions(self, session: Session, user_id: int, reason: str) -> int:
        rows = list(
            session.scalars(select(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None)))
        )
        now = utcnow()
        for row in rows:
            row.ended_at, row.end_reason = now, reason
        return len(rows)

    def revoke_token(self, name: str, actor: Actor | None = None, reason: str = "") -> dict[str, Any]:
        """Refuse the user's token from now on and end their web sessions (they need ``rotate_token``)."""
        actor = actor or Actor(None, ADMIN, "editor")
        with self._write() as session:
            user = self._user_by_name(session, name)
            if user.token_revoked_at is not None:
                raise Conflict(f"the token of '{user.name}' is already revoked")
            user.token_revoked_at = utcnow()
            ended = self._end_sessions(session, user.id, "token-revoked")
            self._audit(
                session,
                actor,
                "revoke-token",
                detail=f"token of '{user.name}' revoked; {ended} web session(s) ended. {reason}".strip(),
            )
        return {"name": user.name, "revoked": True, "sessions_ended": ended}

    def rotate_token(
        self, name: str, actor: Actor | None = None, valid_days: int | None = None
    ) -> tuple[dict[str, Any], str]:
        """Issue a new token (the old one stops working at once) and end the user's web sessions."""
        days = _check_days(valid_days)
        actor = actor or Actor(None, ADMIN, "editor")
        token = secrets.token_urlsafe(32)
        now = utcnow()
        expires = (now + dt.timedelta(days=days)).replace(microsecond=0)
        with self._write() as session:
            user = self._user_by_name(session, name)
            if not user.active:
                raise Conflict(f"'{user.name}' is deactivated; a new token would not be accepted")
            user.token_hash = hash_token(token)
            user.token_issued_at, user.token_expires_at, user.token_revoked_at = now, expires, None
            ended = self._end_sessions(session, user.id, "token-rotated")
            self._audit(
                session,
                actor,
                "rotate-token",
                detail=f"new token for '{user.name}', expires {_iso(expires)}; {ended} web session(s) ended",
            )
        return {"name": user.name, "token_expires_at": _iso(expires), "sessions_ended": ended}, token

    def deactivate_user(self, name: str, actor: Actor | None = None, reason: str = "") -> dict[str, Any]:
        """Refuse the user everywhere (token and sessions); their past actions stay in the log."""
        actor = actor or Actor(None, ADMIN, "editor")
        with self._write() as session:
            user = self._user_by_name(session, name)
            if not user.active:
                raise Conflict(f"'{user.name}' is already deactivated")
            user.active = False
            ended = self._end_sessions(session, user.id, "user-deactivated")
            self._audit(
                session,
                actor,
                "deactivate-user",
                detail=f"user '{user.name}' deactivated; {ended} web session(s) ended. {reason}".strip(),
            )
        return {"name": user.name, "active": False, "sessions_ended": ended}

    # ----- web sessions ----------------------------------------------------------
    def start_session(self, token: str) -> tuple[Actor, str]:
        """Sign in with a bearer token: (actor, opaque session id). Only the id's SHA-256 is stored."""
        actor = self.authenticate(token)
        session_id = secrets.token_urlsafe(32)
        now = utcnow()
        with self._write() as session:
            session.add(
                WebSession(id_hash=hash_token(session_id), user_id=actor.id, created_at=now, last_seen_at=now)
            )
            self._audit(session, actor, "sign-in", detail="web session started")
        return actor, session_id

    def session_actor(self, session_id: str | None) -> Actor:
        """The actor of a live web session; refreshes its idle timer. Ended, idle or too old: Unauthorized."""
        if not session_id or len(session_id) > 200:
            raise Unauthorized("not signed in")
        _days, idle_minutes, max_hours = _credential_settings()
        now = utcnow()
        key = hash_token(session_id)
        with self._read() as session:
            row = session.get(WebSession, key)
            user = session.get(User, row.user_id) if row is not None else None
            if row is None or row.ended_at is not None:
                raise Unauthorized("not signed in")
            idle = now - _aware(row.last_seen_at)
            age = now - _aware(row.created_at)
            expired = idle > dt.timedelta(minutes=idle_minutes) or age > dt.timedelta(hours=max_hours)
            problem = _token_problem(user, now)
            fresh = idle < dt.timedelta(seconds=30)
            actor = Actor(user.id, user.name, user.role) if user is not None else None
        if expired or problem is not None:
            if idle > dt.timedelta(minutes=idle_minutes):
                reason = "idle-timeout"
            else:
                reason = "max-age" if expired else f"token-{problem}"
            self._close_session(key, reason, None)
            raise Unauthorized("your session has ended; sign in again")
        assert actor is not None
        if not fresh:  # one small write at most every 30 s per session
            with self._write() as session:
                row = session.get(WebSession, key)
                if row is not None and row.ended_at is None:
                    row.last_seen_at = now
        return actor

    def end_session(self, session_id: str | None) -> bool:
        """Sign out: end the session (audited). False when there was no live session."""
        if not session_id or len(session_id) > 200:
            return False
        return self._close_session(hash_token(session_id), "sign-out", "sign-out")

    def _close_session(self, key: str, reason: str, audit_action: str | None) -> bool:
        with self._write() as session:
            row = session.get(WebSession, key)
            if row is None or row.ended_at is not None:
                return False
            row.ended_at, row.end_reason = utcnow(), reason[:30]
            user = session.get(User, row.user_id)
            actor = Actor(user.id, user.name, user.role) if user else Actor(None, "unknown", "author")
            self._audit(session, actor, audit_action or "session-ended", detail=f"web session ended: {reason}")
        return True

    # ----- proposals ---------------------------------------------------------
    def propose(
        self,
        actor: Actor,
        kind: str,
        yaml_text: str,
        rationale: str,
        sources: list[str] | None = None,
        submit: bool = True,
    ) -> dict[str, Any]:
        """Record a proposed item (draft), and submit it unless ``submit`` is false."""
        self._require(actor, "propose")
        if not rationale or not rationale.strip():
            raise EditorialError("a proposal needs a rationale")
        parsed = parse_item(kind, yaml_text)
        cited = [s.strip() for s in (sources or []) if s.strip()]
        unknown = [s for s in cited if not _looks_like_source(s)]
        if unknown:
            raise EditorialError(f"not source ids: {', '.join(unknown)} (accepted: S01…S94, S52a, SEED000…)")
        with self._write() as session:
            base = self._live_row(session, parsed.kind, parsed.item_id)
            now = utcnow()
            proposal = Proposal(
                kind=parsed.kind,
                item_id=parsed.item_id,
                yaml_text=yaml_text,
                author_id=actor.id,
                rationale=rationale.strip(),
                sources=",".join(cited),
                state="draft",
                base_version_id=base.id if base else None,
                version=1,
                created_at=now,
                updated_at=now,
            )
            session.add(proposal)
            session.flush()
            self._audit(session, actor, "create", proposal=proposal, to_state="draft", detail=rationale.strip())
            if submit:
                self._transition(session, proposal, actor, "submit")
            pid = proposal.id
        return self.get(pid)

    def submit(self, actor: Actor, proposal_id: int, expected_version: int | None = None) -> dict[str, Any]:
        with self._write() as session:
            proposal = self._locked(session, proposal_id, expected_version)
            if proposal.author_id != actor.id and not actor.can("retire"):
                raise Forbidden("only the author (or an editor) may submit a draft")
            self._transition(session, proposal, actor, "submit")
        return self.get(proposal_id)

    def start_review(self, actor: Actor, proposal_id: int, expected_version: int | None = None) -> dict[str, Any]:
        with self._write() as session:
            proposal = self._locked(session, proposal_id, expected_version)
            self._not_author(actor, proposal, "review")
            self._transition(session, proposal, actor, "start-review")
        return self.get(proposal_id)

    def reject(
        self, actor: Actor, proposal_id: int, comment: str = "", expected_version: int | None = None
    ) -> dict[str, Any]:
        with self._write() as session:
            proposal = self._locked(session, proposal_id, expected_version)
            self._not_author(actor, proposal, "reject")
            self._require(actor, "reject")
            next_state(proposal.state, "reject")
            self._record_review(session, proposal, actor, "reject", comment)
            self._transition(session, proposal, actor, "reject", detail=comment)
        return self.get(proposal_id)

    def approve(
        self, actor: Actor, proposal_id: int, comment: str = "", expected_version: int | None = None
    ) -> dict[str, Any]:
        """Record an approval; with enough distinct approvals the proposal goes live.

        The item's review block becomes {status: approved, reviewer: <names>, last_reviewed: today}
        and the whole pack, overlaid with it, must load strictly (models and cross-checks).
        """
        required = self.approvals_required
        with self._write() as session:
            proposal = self._locked(session, proposal_id, expected_version)
            self._not_author(actor, proposal, "approve")
            self._require(actor, "approve")
            next_state(proposal.state, "approve")
            approvers = self._approvers(session, proposal.id)
            if actor.name in approvers:
                raise Conflict(
                    f"{actor.name} has already approved proposal {proposal.id}; "
                    f"{required} distinct reviewers are required"
                )
            self._record_review(session, proposal, actor, "approve", comment)
            approvers.append(actor.name)
            if len(approvers) < required:
                self._bump(session, proposal, proposal.state)
                self._audit(
                    session,
                    actor,
                    "approve",
                    proposal=proposal,
                    from_state=proposal.state,
                    to_state=proposal.state,
                    detail=f"approval {len(approvers)} of {required}. {comment}".strip(),
                )
                return_id = proposal.id
            else:
                live = self._live_row(session, proposal.kind, proposal.item_id)
                live_id = live.id if live else None
                if live_id != proposal.base_version_id:
                    raise Conflict(
                        f"{proposal.kind} '{proposal.item_id}' changed after proposal {proposal.id} was made "
                        f"(live content version {live_id}, proposal based on {proposal.base_version_id}); "
                        "propose the change again against the live version"
                    )
                data = parse_item(proposal.kind, proposal.yaml_text).data
                data["review"] = {
                    "status": "approved",
                    "reviewer": ", ".join(approvers),
                    "last_reviewed": dt.date.today(),
                }
                overlay = self._overlay(session)
                overlay[(proposal.kind, proposal.item_id)] = data
                self._validate(overlay, f"proposal {proposal.id} cannot be approved")
                session.add(
                    ContentVersion(
                        kind=proposal.kind,
                        item_id=proposal.item_id,
                        yaml_text=_dump(data),
                        approved_at=utcnow(),
                        approved_by=", ".join(approvers),
                        proposal_id=proposal.id,
                        retired=False,
                    )
                )
                self._transition(
                    session, proposal, actor, "approve", detail=f"approved by {', '.join(approvers)}. {comment}".strip()
                )
                return_id = proposal.id
        return self.get(return_id)

    def retire(self, actor: Actor, kind: str, item_id: str, comment: str = "") -> dict[str, Any]:
        """Stop serving an item: a retired content version hides it; its live proposal becomes retired."""
        from clinguide.kb.loader import EDITABLE, read_raw

        self._require(actor, "retire")
        if kind not in EDITABLE:
            raise EditorialError(f"kind '{kind}' cannot be edited; accepted kinds: {', '.join(EDITABLE)}")
        with self._write() as session:
            live = self._live_row(session, kind, item_id)
            if live is not None and live.retired:
                raise IllegalTransition(f"{kind} '{item_id}' is already retired")
            if live is not None:
                data = yaml.safe_load(live.yaml_text)
            else:
                raw, _ = read_raw(self.pack_dir)
                found = [r.data for r in raw if r.kind == kind and r.id == item_id]
                if not found:
                    raise NotFound(f"no {kind} with id '{item_id}' in the pack or the editorial store")
                data = dict(found[0])
            overlay = self._overlay(session)
            overlay[(kind, item_id)] = {**data, "review": {"status": "retired"}}
            self._validate(overlay, f"{kind} '{item_id}' cannot be retired")
            proposal = session.get(Proposal, live.proposal_id) if live and live.proposal_id else None
            session.add(
                ContentVersion(
                    kind=kind,
                    item_id=item_id,
                    yaml_text=_dump(data),
                    approved_at=utcnow(),
                    approved_by=actor.name,
                    proposal_id=proposal.id if proposal else None,
                    retired=True,
                )
            )
            if proposal is not None and proposal.state == "approved":
                self._transition(session, proposal, actor, "retire", detail=comment)
            else:
                self._audit(
                    session,
                    actor,
                    "retire",
                    kind=kind,
                    item_id=item_id,
                    from_state="approved",
                    to_state="retired",
                    detail=comment or "shipped item retired",
                )
        return {"kind": kind, "item_id": item_id, "retired": True, "proposal_id": proposal.id if proposal else None}

    # ----- reading -------------------------------------------------------------
    def get(self, proposal_id: int, with_diff: bool = False) -> dict[str, Any]:
        _check_id(proposal_id)
        with self._read() as session:
            proposal = session.get(Proposal, proposal_id)
            if proposal is None:
                raise NotFound(f"no proposal {proposal_id}")
            out = self._proposal_dict(session, proposal)
            out["reviews"] = [
                {"reviewer": name, "decision": r.decision, "comment": r.comment, "at": _iso(r.at)}
                for r, name in session.execute(
                    select(Review, User.name)
                    .join(User, User.id == Review.reviewer_id)
                    .where(Review.proposal_id == proposal_id)
                    .order_by(Review.id)
                )
            ]
            if with_diff:
                live = self.live_yaml(proposal.kind, proposal.item_id, session=session)
                out["live_yaml"] = live
                # An open proposal is compared with what is served now. A decided one with the version it
                # was made against: once approved it *is* the live version, and comparing it with itself
                # (or with its own review block) would show the change reversed or as nothing at all.
                if proposal.state in ("draft", "submitted", "under-review"):
                    before, against = live or "", "live"
                else:
                    before, against = self._base_yaml(session, proposal) or "", "base"
                out["diff_against"] = against
                out["before_yaml"] = before or None
                out["diff"] = "".join(
                    difflib.unified_diff(
                        _without_review(before).splitlines(keepends=True),
                        _without_review(_normalised(proposal.yaml_text)).splitlines(keepends=True),
                        fromfile=f"{against}/{proposal.kind}/{proposal.item_id}",
                        tofile=f"proposal/{proposal.id}/{proposal.kind}/{proposal.item_id}",
                    )
                )
            return out

    def queue(self, states: tuple[str, ...] = QUEUE_STATES) -> list[dict[str, Any]]:
        bad = [s for s in states if s not in STATES]
        if bad:
            raise EditorialError(f"unknown state(s) {', '.join(bad)}; accepted: {', '.join(STATES)}")
        with self._read() as session:
            rows = session.scalars(select(Proposal).where(Proposal.state.in_(states)).order_by(Proposal.id))
            return [self._proposal_dict(session, p) for p in rows]

    def history(
        self, proposal_id: int | None = None, kind: str | None = None, item_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Audit entries, oldest first: of one proposal, of one item, or all."""
        with self._read() as session:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if proposal_id is not None:
                _check_id(proposal_id)
                if session.get(Proposal, proposal_id) is None:
                    raise NotFound(f"no proposal {proposal_id}")
                query = query.where(AuditEntry.proposal_id == proposal_id)
            elif kind and item_id:
                query = query.where(AuditEntry.kind == kind, AuditEntry.item_id == item_id)
            return [
                {
                    "id": a.id,
                    "at": _iso(a.at),
                    "actor": a.actor_name,
                    "action": a.action,
                    "proposal_id": a.proposal_id,
                    "kind": a.kind,
                    "item_id": a.item_id,
                    "from_state": a.from_state,
                    "to_state": a.to_state,
                    "detail": a.detail,
                }
                for a in session.scalars(query)
            ]

    def live_yaml(self, kind: str, item_id: str, session: Session | None = None) -> str | None:
        """The YAML served now for an item: its newest approved version, else the shipped pack's."""
        from clinguide.kb.loader import read_raw

        if session is None:
            with self._read() as own:
                return self.live_yaml(kind, item_id, own)
        live = self._live_row(session, kind, item_id)
        if live is not None:
            return None if live.retired else live.yaml_text
        raw, _ = read_raw(self.pack_dir)
        for item in raw:
            if item.kind == kind and item.id == item_id:
                return _dump(item.data)
        return None

    def _base_yaml(self, session: Session, proposal: Proposal) -> str | None:
        """The item as it was served when the proposal was made: its base content version, or the shipped pack."""
        from clinguide.kb.loader import read_raw

        if proposal.base_version_id is not None:
            row = session.get(ContentVersion, proposal.base_version_id)
            return None if row is None or row.retired else row.yaml_text
        raw, _ = read_raw(self.pack_dir)
        for item in raw:
            if item.kind == proposal.kind and item.id == proposal.item_id:
                return _dump(item.data)
        return None

    def content_fingerprint(self) -> tuple[int, int]:
        """Changes whenever approved content changes (content_versions is append-only)."""
        with self._read() as session:
            count, top = session.execute(
                select(func.count(ContentVersion.id), func.coalesce(func.max(ContentVersion.id), 0))
            ).one()
            return int(count), int(top)

    def overlay(self) -> dict[tuple[str, str], dict[str, Any]]:
        with self._read() as session:
            return self._overlay(session)

    def snapshot(self) -> tuple[tuple[int, int], dict[tuple[str, str], dict[str, Any]]]:
        """The content fingerprint and the overlay, read in one transaction."""
        with self._read() as session:
            count, top = session.execute(
                select(func.count(ContentVersion.id), func.coalesce(func.max(ContentVersion.id), 0))
            ).one()
            return (int(count), int(top)), self._overlay(session)

    def export(self, directory: Path) -> list[Path]:
        """Write every live editorial version back to YAML in the pack's file shape; list retired items."""
        from clinguide.kb.loader import KINDS

        directory = Path(directory)
        written: list[Path] = []
        retired: list[dict[str, str]] = []
        with self._read() as session:
            for row in self._live_rows(session):
                if row.retired:
                    retired.append({"kind": row.kind, "id": row.item_id})
                    continue
                key = KINDS[row.kind][1] or row.kind
                path = directory / row.kind / f"{row.item_id}.yaml"
                path.parent.mkdir(parents=True, exist_ok=True)
                header = (
                    f"# Approved editorial version {row.id} of {row.kind} '{row.item_id}' "
                    f"(proposal {row.proposal_id}, approved by {row.approved_by} at {_iso(row.approved_at)})\n"
                )
                body = yaml.safe_dump(
                    {key: [yaml.safe_load(row.yaml_text)]}, sort_keys=False, allow_unicode=True, width=100
                )
                path.write_text(header + body, encoding="utf-8")
                written.append(path)
        if retired:
            directory.mkdir(parents=True, exist_ok=True)
            path = directory / "retired.yaml"
            path.write_text(yaml.safe_dump({"retired": retired}, sort_keys=False), encoding="utf-8")
            written.append(path)
        return written

    # ----- internals -----------------------------------------------------------
    @staticmethod
    def _require(actor: Actor, action: str) -> None:
        if not actor.can(action):
            raise Forbidden(f"{action} needs the role {NEEDS_ROLE[action]} or higher; {actor.name} is {actor.role}")

    @staticmethod
    def _not_author(actor: Actor, proposal: Proposal, what: str) -> None:
        if proposal.author_id == actor.id:
            raise Forbidden(f"{actor.name} wrote proposal {proposal.id} and cannot {what} it")

    def _locked(self, session: Session, proposal_id: int, expected_version: int | None) -> Proposal:
        _check_id(proposal_id)
        query = select(Proposal).where(Proposal.id == proposal_id)
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update()
        proposal = session.scalar(query)
        if proposal is None:
            raise NotFound(f"no proposal {proposal_id}")
        if expected_version is not None and proposal.version != expected_version:
            raise Conflict(
                f"proposal {proposal_id} is at version {proposal.version}, not {expected_version}; "
                "reload it and try again"
            )
        return proposal

    def _bump(self, session: Session, proposal: Proposal, state: str) -> None:
        """Optimistic lock: move to ``state`` only if nobody changed the row since we read it."""
        seen = proposal.version
        result = session.execute(
            update(Proposal)
            .where(Proposal.id == proposal.id, Proposal.version == seen)
            .values(state=state, version=seen + 1, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            raise Conflict(f"proposal {proposal.id} was changed by someone else meanwhile; reload it and try again")
        session.expire(proposal)

    def _transition(self, session: Session, proposal: Proposal, actor: Actor, action: str, detail: str = "") -> None:
        self._require(actor, action)
        before = proposal.state
        after = next_state(before, action)
        self._bump(session, proposal, after)
        self._audit(session, actor, action, proposal=proposal, from_state=before, to_state=after, detail=detail)

    @staticmethod
    def _record_review(session: Session, proposal: Proposal, actor: Actor, decision: str, comment: str) -> None:
        session.add(
            Review(proposal_id=proposal.id, reviewer_id=actor.id, decision=decision, comment=comment or "", at=utcnow())
        )
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(f"{actor.name} has already reviewed proposal {proposal.id}") from None

    @staticmethod
    def _approvers(session: Session, proposal_id: int) -> list[str]:
        return list(
            session.scalars(
                select(User.name)
                .join(Review, Review.reviewer_id == User.id)
                .where(Review.proposal_id == proposal_id, Review.decision == "approve")
                .order_by(Review.id)
            )
        )

    @staticmethod
    def _live_rows(session: Session) -> list[ContentVersion]:
        newest = (
            select(func.max(ContentVersion.id)).group_by(ContentVersion.kind, ContentVersion.item_id).scalar_subquery()
        )
        return list(
            session.scalars(select(ContentVersion).where(ContentVersion.id.in_(newest)).order_by(ContentVersion.id))
        )

    @staticmethod
    def _live_row(session: Session, kind: str, item_id: str) -> ContentVersion | None:
        return session.scalar(
            select(ContentVersion)
            .where(ContentVersion.kind == kind, ContentVersion.item_id == item_id)
            .order_by(ContentVersion.id.desc())
            .limit(1)
        )

    def _overlay(self, session: Session) -> dict[tuple[str, str], dict[str, Any]]:
        overlay: dict[tuple[str, str], dict[str, Any]] = {}
        for row in self._live_rows(session):
            data = yaml.safe_load(row.yaml_text)
            if row.retired:  # the loader serves only approved items: a retired one is absent
                data = {**data, "review": {"status": "retired"}}
            overlay[(row.kind, row.item_id)] = data
        return overlay

    def _validate(self, overlay: dict[tuple[str, str], dict[str, Any]], what: str) -> None:
        from clinguide.kb.loader import PackError, load

        try:
            load(self.pack_dir, overlay=overlay, strict=True)
        except PackError as exc:
            problems = [str(p) for p in exc.problems]
            shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
            raise InvalidContent(f"{what}: the pack with this change does not validate: {shown}", problems) from None

    def _proposal_dict(self, session: Session, proposal: Proposal) -> dict[str, Any]:
        author = session.get(User, proposal.author_id)
        return {
            "id": proposal.id,
            "kind": proposal.kind,
            "item_id": proposal.item_id,
            "state": proposal.state,
            "version": proposal.version,
            "author": author.name if author else None,
            "rationale": proposal.rationale,
            "sources": [s for s in proposal.sources.split(",") if s],
            "yaml": proposal.yaml_text,
            "base_version_id": proposal.base_version_id,
            "approvals": len(self._approvers(session, proposal.id)),
            "approvals_required": self.approvals_required,
            "created_at": _iso(proposal.created_at),
            "updated_at": _iso(proposal.updated_at),
        }


def _check_id(proposal_id: int) -> None:
    """Proposal numbers are database integers: anything outside that range cannot exist."""
    if not 1 <= proposal_id <= 2**31 - 1:
        raise NotFound(f"no proposal {proposal_id}" if abs(proposal_id) < 10**12 else "no proposal of that number")


def _check_days(valid_days: int | None) -> int:
    if valid_days is None:
        return _credential_settings()[0]
    if not 1 <= valid_days <= 3650:
        raise EditorialError(f"token lifetime {valid_days} days is not accepted (1–3650 days)")
    return valid_days


def _looks_like_source(value: str) -> bool:
    import re

    return re.fullmatch(r"S\d{2,3}[a-z]?|SEED\d{3}", value) is not None


def _without_review(yaml_text: str) -> str:
    """The item without its review block, which approval sets: the diff shows the content change only."""
    if not yaml_text:
        return ""
    try:
        doc = yaml.safe_load(yaml_text)
    except yaml.YAMLError:
        return yaml_text
    if isinstance(doc, dict) and "review" in doc:
        return _dump({k: v for k, v in doc.items() if k != "review"})
    return yaml_text


def _normalised(yaml_text: str) -> str:
    """The proposal as the store would serve it, for a like-for-like diff against the live YAML."""
    try:
        doc = yaml.safe_load(yaml_text)
    except yaml.YAMLError:
        return yaml_text
    if isinstance(doc, dict) and len(doc) == 1:
        (only,) = doc.values()
        if isinstance(only, list) and len(only) == 1 and isinstance(only[0], dict):
            doc = only[0]
    return _dump(doc) if isinstance(doc, dict) else yaml_text


__all__ = [
    "ACTIONS",
    "ROLES",
    "STATES",
    "TRANSITIONS",
    "Actor",
    "Conflict",
    "EditorialError",
    "EditorialStore",
    "Forbidden",
    "IllegalTransition",
    "InvalidContent",
    "NotFound",
    "Unauthorized",
    "next_state",
    "parse_item",
]
