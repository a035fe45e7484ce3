"""Persistence of the editorial store: transactions, the audit trail, proposal rows and approved content.

Each operation runs in one transaction that also writes its audit row. A transition is guarded
twice: the proposal row is locked (SELECT … FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on SQLite)
and its ``version`` column is bumped with ``UPDATE … WHERE version = :v``; a zero rowcount means
another reviewer won and the loser's transaction is rolled back.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from clinguide.editorial import content, db
from clinguide.editorial.errors import Conflict, EditorialError, NotFound
from clinguide.editorial.models import AuditEntry, ContentVersion, Proposal, Review, User, iso, utcnow
from clinguide.editorial.states import OPEN_STATES, QUEUE_STATES, STATES, Actor

MAX_ID = 2**31 - 1  # proposal numbers are database integers

_writes = 0  # committed write transactions in this process: the serving overlay re-reads the store after one


def _note_write() -> None:
    global _writes
    _writes += 1


def write_count() -> int:
    return _writes

Overlay = dict[tuple[str, str], dict[str, Any]]


# ----- what the store returns (plain JSON-ready mappings, typed) -----------------------------------
class ReviewRecord(TypedDict):
    reviewer: str
    decision: str
    comment: str
    at: str | None


class ProposalRecord(TypedDict):
    """A proposal; ``get`` adds its reviews, and with ``with_diff`` the diff against what is served."""

    id: int
    kind: str
    item_id: str
    state: str
    version: int
    author: str | None
    rationale: str
    sources: list[str]
    yaml: str
    base_version_id: int | None
    approvals: int
    approvals_required: int
    created_at: str | None
    updated_at: str | None
    reviews: NotRequired[list[ReviewRecord]]
    live_yaml: NotRequired[str | None]
    diff_against: NotRequired[str]
    before_yaml: NotRequired[str | None]
    diff: NotRequired[str]


class AuditRecord(TypedDict):
    id: int
    at: str | None
    actor: str
    action: str
    proposal_id: int | None
    kind: str | None
    item_id: str | None
    from_state: str | None
    to_state: str | None
    detail: str


class RetireRecord(TypedDict):
    kind: str
    item_id: str
    retired: bool
    proposal_id: int | None


def check_id(proposal_id: int) -> None:
    """Proposal numbers are database integers: anything outside that range cannot exist."""
    if not 1 <= proposal_id <= MAX_ID:
        raise NotFound(f"no proposal {proposal_id}" if abs(proposal_id) < 10**12 else "no proposal of that number")


class Repository:
    """The database side of the store: one database URL, validated against one knowledge-pack directory."""

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

    # ----- transactions ---------------------------------------------------------------------
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

    # ----- proposal rows ----------------------------------------------------------------------
    def _locked(self, session: Session, proposal_id: int, expected_version: int | None) -> Proposal:
        check_id(proposal_id)
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

    @staticmethod
    def _bump(session: Session, proposal: Proposal, state: str) -> None:
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

    # ----- approved content ---------------------------------------------------------------------
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

    def _overlay(self, session: Session) -> Overlay:
        overlay: Overlay = {}
        for row in self._live_rows(session):
            data = yaml.safe_load(row.yaml_text)
            if row.retired:  # the loader serves only approved items: a retired one is absent
                data = {**data, "review": {"status": "retired"}}
            overlay[(row.kind, row.item_id)] = data
        return overlay

    def _base_yaml(self, session: Session, proposal: Proposal) -> str | None:
        """The item as it was served when the proposal was made: its base content version, or the shipped pack."""
        if proposal.base_version_id is not None:
            row = session.get(ContentVersion, proposal.base_version_id)
            return None if row is None or row.retired else row.yaml_text
        return content.shipped_yaml(self.pack_dir, proposal.kind, proposal.item_id)

    def _proposal_record(self, session: Session, proposal: Proposal) -> ProposalRecord:
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
            "created_at": iso(proposal.created_at),
            "updated_at": iso(proposal.updated_at),
        }

    # ----- reading ------------------------------------------------------------------------------
    def get(self, proposal_id: int, with_diff: bool = False) -> ProposalRecord:
        check_id(proposal_id)
        with self._read() as session:
            proposal = session.get(Proposal, proposal_id)
            if proposal is None:
                raise NotFound(f"no proposal {proposal_id}")
            out = self._proposal_record(session, proposal)
            out["reviews"] = [
                {"reviewer": name, "decision": r.decision, "comment": r.comment, "at": iso(r.at)}
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
                if proposal.state in OPEN_STATES:
                    before, against = live or "", "live"
                else:
                    before, against = self._base_yaml(session, proposal) or "", "base"
                out["diff_against"] = against
                out["before_yaml"] = before or None
                out["diff"] = content.content_diff(
                    before,
                    proposal.yaml_text,
                    fromfile=f"{against}/{proposal.kind}/{proposal.item_id}",
                    tofile=f"proposal/{proposal.id}/{proposal.kind}/{proposal.item_id}",
                )
            return out

    def queue(self, states: tuple[str, ...] = QUEUE_STATES) -> list[ProposalRecord]:
        bad = [s for s in states if s not in STATES]
        if bad:
            raise EditorialError(f"unknown state(s) {', '.join(bad)}; accepted: {', '.join(STATES)}")
        with self._read() as session:
            rows = session.scalars(select(Proposal).where(Proposal.state.in_(states)).order_by(Proposal.id))
            return [self._proposal_record(session, p) for p in rows]

    def history(
        self, proposal_id: int | None = None, kind: str | None = None, item_id: str | None = None
    ) -> list[AuditRecord]:
        """Audit entries, oldest first: of one proposal, of one item, or all."""
        with self._read() as session:
            query = select(AuditEntry).order_by(AuditEntry.id)
            if proposal_id is not None:
                check_id(proposal_id)
                if session.get(Proposal, proposal_id) is None:
                    raise NotFound(f"no proposal {proposal_id}")
                query = query.where(AuditEntry.proposal_id == proposal_id)
            elif kind and item_id:
                query = query.where(AuditEntry.kind == kind, AuditEntry.item_id == item_id)
            return [
                {
                    "id": a.id,
                    "at": iso(a.at),
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
        if session is None:
            with self._read() as own:
                return self.live_yaml(kind, item_id, own)
        live = self._live_row(session, kind, item_id)
        if live is not None:
            return None if live.retired else live.yaml_text
        return content.shipped_yaml(self.pack_dir, kind, item_id)

    def content_fingerprint(self) -> tuple[int, int]:
        """Changes whenever approved content changes (content_versions is append-only)."""
        with self._read() as session:
            return self._fingerprint(session)

    @staticmethod
    def _fingerprint(session: Session) -> tuple[int, int]:
        count, top = session.execute(
            select(func.count(ContentVersion.id), func.coalesce(func.max(ContentVersion.id), 0))
        ).one()
        return int(count), int(top)

    def overlay(self) -> Overlay:
        with self._read() as session:
            return self._overlay(session)

    def snapshot(self) -> tuple[tuple[int, int], Overlay]:
        """The content fingerprint and the overlay, read in one transaction."""
        with self._read() as session:
            return self._fingerprint(session), self._overlay(session)

    def export(self, directory: Path) -> list[Path]:
        """Write every live editorial version back to YAML in the pack's file shape; list retired items."""
        with self._read() as session:
            return content.export(self._live_rows(session), directory)
