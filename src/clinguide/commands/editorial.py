"""`clinguide editorial …`: users, proposals, reviews, retirement, history and export of the editorial store.

The database is $CLINGUIDE_DATABASE_URL (default: a SQLite file under $CLINGUIDE_DATA_DIR) or
``--database-url``; tokens may come from ``--token`` or $CLINGUIDE_TOKEN.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from clinguide.commands.common import FORMATS_TEXT_JSON, check_format, fail, print_json

if TYPE_CHECKING:
    from clinguide.editorial.workflow import Actor, EditorialStore

editorial_app = typer.Typer(
    help="Propose, review, approve, retire and audit changes to the knowledge pack.", no_args_is_help=True
)

Token = Annotated[
    str | None, typer.Option("--token", envvar="CLINGUIDE_TOKEN", help="Your bearer token (or $CLINGUIDE_TOKEN)")
]
Comment = Annotated[str, typer.Option("--comment", help="Why; recorded in the audit log")]
Format = Annotated[str, typer.Option("--format", help="text or json")]
Days = Annotated[
    int | None,
    typer.Option(
        "--days", min=1, max=3650, help="Token lifetime in days (default $CLINGUIDE_EDITORIAL_TOKEN_DAYS, 90)"
    ),
]


@editorial_app.callback()
def _options(
    database_url: Annotated[
        str | None, typer.Option("--database-url", help="Database URL (default: $CLINGUIDE_DATABASE_URL)")
    ] = None,
    pack_dir: Annotated[
        Path | None, typer.Option("--pack-dir", help="Knowledge pack to validate against (default: the shipped one)")
    ] = None,
) -> None:
    """Point every subcommand at one store and pack (the options set the environment for this process)."""
    if database_url:
        os.environ["CLINGUIDE_DATABASE_URL"] = database_url
    if pack_dir:
        if not pack_dir.is_dir():
            fail(f"--pack-dir: {pack_dir} is not a directory")
        os.environ["CLINGUIDE_PACK_DIR"] = str(pack_dir.resolve())


@contextmanager
def _store() -> Iterator[EditorialStore]:
    """Open the store; turn refusals into exit 2 and an unreachable database into exit 1, without tracebacks."""
    from clinguide.editorial.db import StoreUnavailable
    from clinguide.editorial.overlay import pack_dir
    from clinguide.editorial.workflow import EditorialError, EditorialStore
    from clinguide.settings import get_settings

    url = get_settings().database_url
    try:
        store = EditorialStore(url, pack_dir())
    except StoreUnavailable as exc:
        fail(str(exc), code=1)
    except Exception as exc:  # a malformed URL, a missing driver
        fail(f"cannot open the editorial store at {url}: {exc}", code=1)
    try:
        yield store
    except EditorialError as exc:
        for problem in exc.problems:
            typer.echo(f"  {problem}", err=True)
        fail(exc.message)


def _actor(store: EditorialStore, token: str | None) -> Actor:
    if not token:
        fail("--token is required (or set $CLINGUIDE_TOKEN)")
    return store.authenticate(token)


def _print_proposal(item: dict[str, Any], fmt: str, full: bool = False) -> None:
    if fmt == "json":
        print_json(item)
        return
    typer.echo(
        f"#{item['id']} {item['kind']} {item['item_id']}: {item['state']} (version {item['version']}, "
        f"by {item['author']}, approvals {item['approvals']}/{item['approvals_required']})"
    )
    if not full:
        return
    typer.echo(f"  rationale: {item['rationale']}")
    typer.echo(f"  sources: {', '.join(item['sources']) or '-'}")
    typer.echo(f"  created {item['created_at']}, updated {item['updated_at']}")
    for review in item.get("reviews", []):
        typer.echo(f"  review: {review['reviewer']} {review['decision']} at {review['at']}: {review['comment']}")
    diff = item.get("diff")
    if diff:
        typer.echo("")
        typer.echo(diff.rstrip("\n"))
    elif "diff" in item:
        typer.echo("  (no difference from the live version)")


@editorial_app.command("init-db")
def init_db() -> None:
    """Create or upgrade the store's schema (Alembic migrations)."""
    from clinguide.settings import get_settings

    with _store():
        typer.echo(f"editorial store ready at {get_settings().database_url}")


@editorial_app.command("create-user")
def create_user(
    name: Annotated[str, typer.Argument(help="The user's name, as it will appear in review blocks")],
    role: Annotated[str, typer.Option("--role", help="author, reviewer or editor")],
    days: Days = None,
) -> None:
    """Create a user and print their token once (only its hash is stored)."""
    with _store() as store:
        user, token = store.create_user(name, role, valid_days=days)
    typer.echo(
        f"created {user['role']} {user['name']} (id {user['id']}); token expires {user['token_expires_at']} "
        "(shown once, keep it safe):"
    )
    typer.echo(token)


@editorial_app.command("rotate-token")
def rotate_token(
    name: Annotated[str, typer.Argument(help="The user whose token is replaced")],
    days: Days = None,
) -> None:
    """Issue a new token for a user and print it once; the old token and the user's web sessions end now."""
    with _store() as store:
        info, token = store.rotate_token(name, valid_days=days)
    typer.echo(
        f"new token for {info['name']}, expires {info['token_expires_at']}; the old token no longer works; "
        f"{info['sessions_ended']} web session(s) ended. Token (shown once, keep it safe):"
    )
    typer.echo(token)


@editorial_app.command("revoke-token")
def revoke_token(
    name: Annotated[str, typer.Argument(help="The user whose token is refused from now on")],
    comment: Comment = "",
) -> None:
    """Refuse a user's token at once and end their web sessions (`rotate-token` issues a new one)."""
    with _store() as store:
        info = store.revoke_token(name, reason=comment)
    typer.echo(f"token of {info['name']} revoked; {info['sessions_ended']} web session(s) ended")


@editorial_app.command("deactivate-user")
def deactivate_user(
    name: Annotated[str, typer.Argument(help="The user to refuse everywhere")],
    comment: Comment = "",
) -> None:
    """Deactivate a user: token and web sessions refused; their past actions stay in the audit log."""
    with _store() as store:
        info = store.deactivate_user(name, reason=comment)
    typer.echo(f"{info['name']} deactivated; {info['sessions_ended']} web session(s) ended")


@editorial_app.command("users")
def users(fmt: Format = "text") -> None:
    """List users and roles."""
    check_format(fmt, FORMATS_TEXT_JSON)
    with _store() as store:
        rows = store.users()
    if fmt == "json":
        print_json(rows)
        return
    for row in rows:
        state = "inactive" if not row["active"] else f"token {row['token']}, expires {row['token_expires_at']}"
        typer.echo(f"{row['id']:>4} {row['name']} ({row['role']}) {state}")


@editorial_app.command("propose")
def propose(
    kind: Annotated[str, typer.Option("--kind", help="statement, drug, agent, plan, … (the loader's kinds)")],
    file: Annotated[Path, typer.Option("--file", help="YAML file holding the full proposed item")],
    rationale: Annotated[str, typer.Option("--rationale", help="Why the change is needed")],
    token: Token = None,
    source: Annotated[list[str] | None, typer.Option("--source", help="A cited source id; repeat")] = None,
    draft: Annotated[bool, typer.Option("--draft", help="Keep it as a draft instead of submitting it")] = False,
    fmt: Format = "text",
) -> None:
    """Propose a new version of an item from a YAML file (submitted for review unless --draft)."""
    check_format(fmt, FORMATS_TEXT_JSON)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        fail(f"--file: file not found: {file}")
    except OSError as exc:
        fail(f"--file: cannot read {file}: {exc.strerror}")
    with _store() as store:
        item = store.propose(_actor(store, token), kind, text, rationale, list(source or []), submit=not draft)
    _print_proposal(item, fmt)


@editorial_app.command("submit")
def submit(proposal_id: int, token: Token = None, fmt: Format = "text") -> None:
    """Submit a draft for review."""
    check_format(fmt, FORMATS_TEXT_JSON)
    with _store() as store:
        _print_proposal(store.submit(_actor(store, token), proposal_id), fmt)


@editorial_app.command("queue")
def queue(
    state: Annotated[list[str] | None, typer.Option("--state", help="Filter by state; repeat")] = None,
    fmt: Format = "text",
) -> None:
    """Proposals waiting for review (submitted or under review)."""
    check_format(fmt, FORMATS_TEXT_JSON)
    with _store() as store:
        rows = store.queue(tuple(state)) if state else store.queue()
    if fmt == "json":
        print_json(rows)
        return
    if not rows:
        typer.echo("the review queue is empty")
    for row in rows:
        _print_proposal(row, fmt)


@editorial_app.command("show")
def show(proposal_id: int, fmt: Format = "text") -> None:
    """A proposal with its reviews and a unified diff against the live version."""
    check_format(fmt, FORMATS_TEXT_JSON)
    with _store() as store:
        _print_proposal(store.get(proposal_id, with_diff=True), fmt, full=True)


@editorial_app.command("start-review")
def start_review(proposal_id: int, token: Token = None, fmt: Format = "text") -> None:
    """Take a submitted proposal under review."""
    check_format(fmt, FORMATS_TEXT_JSON)
    with _store() as store:
        _print_proposal(store.start_review(_actor(store, token), proposal_id), fmt)


@editorial_app.command("review")
def review(
    proposal_id: int,
    decision: Annotated[str, typer.Option("--decision", help="approve or reject")],
    token: Token = None,
    comment: Comment = "",
    fmt: Format = "text",
) -> None:
    """Approve or reject a proposal under review."""
    if decision not in ("approve", "reject"):
        fail(f"--decision: '{decision}' is not accepted; use approve or reject")
    (approve if decision == "approve" else reject)(proposal_id, token, comment, fmt)


@editorial_app.command("approve")
def approve(proposal_id: int, token: Token = None, comment: Comment = "", fmt: Format = "text") -> None:
    """Approve a proposal under review; with enough approvals it goes live."""
    check_format(fmt, FORMATS_TEXT_JSON)
    with _store() as store:
        _print_proposal(store.approve(_actor(store, token), proposal_id, comment), fmt)


@editorial_app.command("reject")
def reject(proposal_id: int, token: Token = None, comment: Comment = "", fmt: Format = "text") -> None:
    """Reject a proposal under review."""
    check_format(fmt, FORMATS_TEXT_JSON)
    with _store() as store:
        _print_proposal(store.reject(_actor(store, token), proposal_id, comment), fmt)


@editorial_app.command("retire")
def retire(
    kind: Annotated[str, typer.Argument(help="The item's kind, e.g. statement")],
    item_id: Annotated[str, typer.Argument(help="The item's id")],
    token: Token = None,
    comment: Comment = "",
) -> None:
    """Stop serving an item (editors only)."""
    with _store() as store:
        result = store.retire(_actor(store, token), kind, item_id, comment)
    typer.echo(f"retired {result['kind']} {result['item_id']}")


@editorial_app.command("history")
def history(
    target: Annotated[list[str] | None, typer.Argument(help="Nothing (all), a proposal id, or KIND ID")] = None,
    fmt: Format = "text",
) -> None:
    """The audit log: all of it, of one proposal, or of one item."""
    check_format(fmt, FORMATS_TEXT_JSON)
    target = target or []
    with _store() as store:
        if not target:
            rows = store.history()
        elif len(target) == 1:
            if not target[0].isdigit():
                fail(f"history: '{target[0]}' is not a proposal id; give a number, or KIND ID")
            rows = store.history(proposal_id=int(target[0]))
        elif len(target) == 2:
            rows = store.history(kind=target[0], item_id=target[1])
        else:
            fail("history takes nothing, a proposal id, or KIND ID")
    if fmt == "json":
        print_json(rows)
        return
    for row in rows:
        what = f"#{row['proposal_id']} " if row["proposal_id"] else ""
        item = f"{row['kind']} {row['item_id']}" if row["kind"] else ""
        move = f" {row['from_state'] or '-'} → {row['to_state']}" if row["to_state"] else ""
        detail = f": {row['detail']}" if row["detail"] else ""
        typer.echo(f"{row['at']} {row['actor']} {row['action']} {what}{item}{move}{detail}")


@editorial_app.command("export")
def export(directory: Annotated[Path, typer.Argument(help="Directory to write the YAML files into")]) -> None:
    """Write the approved editorial versions back to YAML (one file per item, in the pack's shape)."""
    with _store() as store:
        written = store.export(directory)
    for path in written:
        typer.echo(str(path))
    typer.echo(f"{len(written)} file(s) written to {directory}")


def register(app: typer.Typer) -> None:
    app.add_typer(editorial_app, name="editorial")
