"""The editorial store: the one object the CLI, the REST API and the web pages use.

It is assembled from the parts of the workflow, each in its own module:

* ``states`` — the proposal state machine and the roles' permissions (no database);
* ``repository`` — transactions, the audit trail, proposal rows, approved content, reading;
* ``proposals`` — the lifecycle steps: propose, submit, start review, approve, reject, retire;
* ``users`` — users, bearer tokens and web sessions;
* ``content`` — proposed YAML: parse and check, diff, validate the pack with it, export.

Methods return typed mappings (``TypedDict``), which is exactly the JSON the REST API sends.
"""

from __future__ import annotations

from clinguide.editorial.content import ParsedItem, parse_item
from clinguide.editorial.errors import (
    Conflict,
    EditorialError,
    Forbidden,
    IllegalTransition,
    InvalidContent,
    NotFound,
    Unauthorized,
)
from clinguide.editorial.proposals import ProposalWorkflow
from clinguide.editorial.repository import AuditRecord, ProposalRecord, RetireRecord, write_count
from clinguide.editorial.states import ACTIONS, ROLES, STATES, TRANSITIONS, Actor, next_state
from clinguide.editorial.users import UserAccounts, UserRecord, hash_token


class EditorialStore(ProposalWorkflow, UserAccounts):
    """All editorial operations over one database URL and one knowledge-pack directory."""


__all__ = [
    "ACTIONS",
    "ROLES",
    "STATES",
    "TRANSITIONS",
    "Actor",
    "AuditRecord",
    "Conflict",
    "EditorialError",
    "EditorialStore",
    "Forbidden",
    "IllegalTransition",
    "InvalidContent",
    "NotFound",
    "ParsedItem",
    "ProposalRecord",
    "RetireRecord",
    "Unauthorized",
    "UserRecord",
    "hash_token",
    "next_state",
    "parse_item",
    "write_count",
]
