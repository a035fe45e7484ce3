"""Editorial users and their credentials: bearer tokens (stored as SHA-256 only, expiring, revocable)
and the web sessions a browser signs in to with a token."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from typing import TypedDict

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinguide.editorial.errors import Conflict, EditorialError, NotFound, Unauthorized
from clinguide.editorial.models import User, WebSession, aware, iso, utcnow
from clinguide.editorial.repository import Repository
from clinguide.editorial.states import ROLES, Actor, local_admin


class NewUser(TypedDict):
    id: int
    name: str
    role: str
    token_expires_at: str | None


class UserRecord(TypedDict):
    id: int
    name: str
    role: str
    active: bool
    created_at: str | None
    token_expires_at: str | None
    token_revoked_at: str | None
    token: str  # "valid", or why it is not: unknown, inactive, revoked, expired


class NewToken(TypedDict):
    name: str
    token_expires_at: str | None
    sessions_ended: int


class Revoked(TypedDict):
    name: str
    revoked: bool
    sessions_ended: int


class Deactivated(TypedDict):
    name: str
    active: bool
    sessions_ended: int


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def credential_settings() -> tuple[int, int, int]:
    """(token days, session idle minutes, session max hours) from the settings."""
    from clinguide.settings import get_settings

    settings = get_settings()
    return (
        settings.editorial_token_days,
        settings.editorial_session_idle_minutes,
        settings.editorial_session_max_hours,
    )


def token_problem(user: User | None, now: dt.datetime) -> str | None:
    """Why this user's token is not accepted now, or None when it is."""
    if user is None:
        return "unknown"
    if not user.active:
        return "inactive"
    if user.token_revoked_at is not None:
        return "revoked"
    if user.token_expires_at is None or aware(user.token_expires_at) <= now:
        return "expired"
    return None


def check_days(valid_days: int | None) -> int:
    """A token lifetime in days: the one given (1–3650), else $CLINGUIDE_EDITORIAL_TOKEN_DAYS."""
    if valid_days is None:
        return credential_settings()[0]
    if not 1 <= valid_days <= 3650:
        raise EditorialError(f"token lifetime {valid_days} days is not accepted (1–3650 days)")
    return valid_days


class UserAccounts(Repository):
    """Users, tokens and web sessions of the store; every change is audited."""

    # ----- users -------------------------------------------------------------------------
    def create_user(
        self, name: str, role: str, actor: Actor | None = None, valid_days: int | None = None
    ) -> tuple[NewUser, str]:
        """Create a user; returns (user, token). Only the token's SHA-256 is stored; it expires after
        ``valid_days`` (default $CLINGUIDE_EDITORIAL_TOKEN_DAYS)."""
        name = name.strip()
        if not name:
            raise EditorialError("a user needs a name")
        if role not in ROLES:
            raise EditorialError(f"role '{role}' is not accepted; use one of: {', '.join(ROLES)}")
        days = check_days(valid_days)
        token = secrets.token_urlsafe(32)
        actor = actor or local_admin()
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
                    detail=f"user '{name}' with role {role}; token expires {iso(expires)}",
                )
        except IntegrityError:
            raise Conflict(f"a user named '{name}' already exists") from None
        return {"id": user.id, "name": user.name, "role": user.role, "token_expires_at": iso(expires)}, token

    def authenticate(self, token: str | None) -> Actor:
        """The actor of a bearer token that is known, unrevoked, unexpired and of an active user.

        Every refusal says only "not valid": which of those failed is not told to the caller."""
        if not token or len(token) > 500:
            raise Unauthorized("a bearer token is required" if not token else "the token is not valid")
        with self._read() as session:
            user = session.scalar(select(User).where(User.token_hash == hash_token(token.strip())))
            if token_problem(user, utcnow()) is not None:
                raise Unauthorized("the token is not valid (unknown, expired, revoked, or its user is inactive)")
            assert user is not None
            return Actor(user.id, user.name, user.role)

    def users(self) -> list[UserRecord]:
        now = utcnow()
        with self._read() as session:
            return [
                {
                    "id": u.id,
                    "name": u.name,
                    "role": u.role,
                    "active": u.active,
                    "created_at": iso(u.created_at),
                    "token_expires_at": iso(u.token_expires_at),
                    "token_revoked_at": iso(u.token_revoked_at),
                    "token": token_problem(u, now) or "valid",
                }
                for u in session.scalars(select(User).order_by(User.id))
            ]

    # ----- credentials ---------------------------------------------------------------------
    @staticmethod
    def _user_by_name(session: Session, name: str) -> User:
        user = session.scalar(select(User).where(User.name == name.strip()))
        if user is None:
            raise NotFound(f"no user named '{name.strip()}'")
        return user

    @staticmethod
    def _end_sessions(session: Session, user_id: int, reason: str) -> int:
        rows = list(
            session.scalars(select(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None)))
        )
        now = utcnow()
        for row in rows:
            row.ended_at, row.end_reason = now, reason
        return len(rows)

    def revoke_token(self, name: str, actor: Actor | None = None, reason: str = "") -> Revoked:
        """Refuse the user's token from now on and end their web sessions (they need ``rotate_token``)."""
        actor = actor or local_admin()
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
    ) -> tuple[NewToken, str]:
        """Issue a new token (the old one stops working at once) and end the user's web sessions."""
        days = check_days(valid_days)
        actor = actor or local_admin()
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
                detail=f"new token for '{user.name}', expires {iso(expires)}; {ended} web session(s) ended",
            )
        return {"name": user.name, "token_expires_at": iso(expires), "sessions_ended": ended}, token

    def deactivate_user(self, name: str, actor: Actor | None = None, reason: str = "") -> Deactivated:
        """Refuse the user everywhere (token and sessions); their past actions stay in the log."""
        actor = actor or local_admin()
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

    # ----- web sessions ----------------------------------------------------------------------
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
        _days, idle_minutes, max_hours = credential_settings()
        now = utcnow()
        key = hash_token(session_id)
        with self._read() as session:
            row = session.get(WebSession, key)
            user = session.get(User, row.user_id) if row is not None else None
            if row is None or row.ended_at is not None:
                raise Unauthorized("not signed in")
            idle = now - aware(row.last_seen_at)
            age = now - aware(row.created_at)
            expired = idle > dt.timedelta(minutes=idle_minutes) or age > dt.timedelta(hours=max_hours)
            problem = token_problem(user, now)
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
