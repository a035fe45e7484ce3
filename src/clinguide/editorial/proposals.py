"""The proposal lifecycle over the repository: propose, submit, start review, approve, reject, retire.

Each step checks the actor's role (``states``), moves the state machine under the row lock and the
version guard (``repository``), and, on approval or retirement, validates the whole pack with the
change (``content``) before a new content version is written.
"""

from __future__ import annotations

import datetime as dt

import yaml
from sqlalchemy.orm import Session

from clinguide.editorial import content
from clinguide.editorial.errors import Conflict, EditorialError, Forbidden, IllegalTransition, NotFound
from clinguide.editorial.models import ContentVersion, Proposal, utcnow
from clinguide.editorial.repository import ProposalRecord, Repository, RetireRecord
from clinguide.editorial.states import Actor, next_state, require, require_not_author


class ProposalWorkflow(Repository):
    """The state-changing operations on proposals; each runs in one audited transaction."""

    def _transition(self, session: Session, proposal: Proposal, actor: Actor, action: str, detail: str = "") -> None:
        require(actor, action)
        before = proposal.state
        after = next_state(before, action)
        self._bump(session, proposal, after)
        self._audit(session, actor, action, proposal=proposal, from_state=before, to_state=after, detail=detail)

    def propose(
        self,
        actor: Actor,
        kind: str,
        yaml_text: str,
        rationale: str,
        sources: list[str] | None = None,
        submit: bool = True,
    ) -> ProposalRecord:
        """Record a proposed item (draft), and submit it unless ``submit`` is false."""
        require(actor, "propose")
        if not rationale or not rationale.strip():
            raise EditorialError("a proposal needs a rationale")
        parsed = content.parse_item(kind, yaml_text)
        cited = [s.strip() for s in (sources or []) if s.strip()]
        unknown = [s for s in cited if not content.looks_like_source(s)]
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

    def submit(self, actor: Actor, proposal_id: int, expected_version: int | None = None) -> ProposalRecord:
        with self._write() as session:
            proposal = self._locked(session, proposal_id, expected_version)
            if proposal.author_id != actor.id and not actor.can("retire"):
                raise Forbidden("only the author (or an editor) may submit a draft")
            self._transition(session, proposal, actor, "submit")
        return self.get(proposal_id)

    def start_review(self, actor: Actor, proposal_id: int, expected_version: int | None = None) -> ProposalRecord:
        with self._write() as session:
            proposal = self._locked(session, proposal_id, expected_version)
            require_not_author(actor, proposal.author_id, proposal.id, "review")
            self._transition(session, proposal, actor, "start-review")
        return self.get(proposal_id)

    def reject(
        self, actor: Actor, proposal_id: int, comment: str = "", expected_version: int | None = None
    ) -> ProposalRecord:
        with self._write() as session:
            proposal = self._locked(session, proposal_id, expected_version)
            require_not_author(actor, proposal.author_id, proposal.id, "reject")
            require(actor, "reject")
            next_state(proposal.state, "reject")
            self._record_review(session, proposal, actor, "reject", comment)
            self._transition(session, proposal, actor, "reject", detail=comment)
        return self.get(proposal_id)

    def approve(
        self, actor: Actor, proposal_id: int, comment: str = "", expected_version: int | None = None
    ) -> ProposalRecord:
        """Record an approval; with enough distinct approvals the proposal goes live.

        The item's review block becomes {status: approved, reviewer: <names>, last_reviewed: today}
        and the whole pack, overlaid with it, must load strictly (models and cross-checks).
        """
        required = self.approvals_required
        with self._write() as session:
            proposal = self._locked(session, proposal_id, expected_version)
            require_not_author(actor, proposal.author_id, proposal.id, "approve")
            require(actor, "approve")
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
            else:
                self._go_live(session, proposal, actor, approvers, comment)
            return_id = proposal.id
        return self.get(return_id)

    def _go_live(self, session: Session, proposal: Proposal, actor: Actor, approvers: list[str], comment: str) -> None:
        """The last approval: the item, with its review block, becomes the newest content version."""
        live = self._live_row(session, proposal.kind, proposal.item_id)
        live_id = live.id if live else None
        if live_id != proposal.base_version_id:
            raise Conflict(
                f"{proposal.kind} '{proposal.item_id}' changed after proposal {proposal.id} was made "
                f"(live content version {live_id}, proposal based on {proposal.base_version_id}); "
                "propose the change again against the live version"
            )
        data = content.parse_item(proposal.kind, proposal.yaml_text).data
        data["review"] = {
            "status": "approved",
            "reviewer": ", ".join(approvers),
            "last_reviewed": dt.date.today(),
        }
        overlay = self._overlay(session)
        overlay[(proposal.kind, proposal.item_id)] = data
        content.validate_overlay(self.pack_dir, overlay, f"proposal {proposal.id} cannot be approved")
        session.add(
            ContentVersion(
                kind=proposal.kind,
                item_id=proposal.item_id,
                yaml_text=content.dump(data),
                approved_at=utcnow(),
                approved_by=", ".join(approvers),
                proposal_id=proposal.id,
                retired=False,
            )
        )
        self._transition(
            session, proposal, actor, "approve", detail=f"approved by {', '.join(approvers)}. {comment}".strip()
        )

    def retire(self, actor: Actor, kind: str, item_id: str, comment: str = "") -> RetireRecord:
        """Stop serving an item: a retired content version hides it; its live proposal becomes retired."""
        from clinguide.kb.loader import EDITABLE

        require(actor, "retire")
        if kind not in EDITABLE:
            raise EditorialError(f"kind '{kind}' cannot be edited; accepted kinds: {', '.join(EDITABLE)}")
        with self._write() as session:
            live = self._live_row(session, kind, item_id)
            if live is not None and live.retired:
                raise IllegalTransition(f"{kind} '{item_id}' is already retired")
            if live is not None:
                data = yaml.safe_load(live.yaml_text)
            else:
                shipped = content.shipped_item(self.pack_dir, kind, item_id)
                if shipped is None:
                    raise NotFound(f"no {kind} with id '{item_id}' in the pack or the editorial store")
                data = dict(shipped)
            overlay = self._overlay(session)
            overlay[(kind, item_id)] = {**data, "review": {"status": "retired"}}
            content.validate_overlay(self.pack_dir, overlay, f"{kind} '{item_id}' cannot be retired")
            proposal = session.get(Proposal, live.proposal_id) if live and live.proposal_id else None
            session.add(
                ContentVersion(
                    kind=kind,
                    item_id=item_id,
                    yaml_text=content.dump(data),
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
