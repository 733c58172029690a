"""``flask --app portal audit verify``: check the audit log's hash chain."""

import re

import click
from flask.cli import AppGroup

from portal.audit import services

_ANCHOR_RE = re.compile(r"^(\d+):([0-9a-f]{64})$")


@click.group("audit", cls=AppGroup)
def audit_group() -> None:
    """The audit trail."""


def _parse_anchor(ctx, param, value):
    if value is None:
        return None
    match = _ANCHOR_RE.match(value.strip().lower())
    if not match:
        raise click.BadParameter("dạng SEQ:HASH, ví dụ 1042:3f5a…(64 ký tự hex)")
    return int(match.group(1)), match.group(2)


@audit_group.command("verify")
@click.option("--anchor", callback=_parse_anchor, metavar="SEQ:HASH",
              help="A head printed by an earlier run and kept outside the database; it must "
                   "still be in the chain.")
def verify_command(anchor) -> None:
    """Walk the chain; exit 1 naming the first edited, deleted or reordered entry."""
    verdict = services.verify(anchor=anchor)
    if not verdict.ok:
        where = f"entry {verdict.bad_id}" if verdict.bad_id is not None else "chain"
        click.echo(f"FAIL: {where}: {verdict.reason} ({verdict.count} bản ghi đầu hợp lệ)",
                   err=True)
        raise SystemExit(1)
    click.echo(f"OK: {verdict.count} entries")
    if verdict.head_seq is not None:
        # Kept outside the database (e.g. mailed by cron), this head lets a later
        # `audit verify --anchor` detect a chain rewritten from scratch or a deleted tail.
        click.echo(f"Mốc (head): {verdict.head_seq}:{verdict.head_hash}")
