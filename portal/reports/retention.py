"""Retention: N days after a case closes, delete the reporter's identity and the attachments.

The case record (text, classification, status, history, messages) and the audit trail stay:
the Front must still be able to show how a report was handled, but nobody needs to know who
sent it, or keep the files, once the matter is closed (Luật Tố cáo 2018, Art. 47–48: protect
the reporter's identity; keep only what the handling needs).

Run from cron: ``flask --app portal retention purge`` (``--days N``, ``--dry-run``).
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import func, or_, select

from portal.attachments import LocalFileStorage
from portal.audit import services as audit
from portal.extensions import db
from portal.reports import status
from portal.reports.models import Attachment, Report, ReporterIdentity, ReportEvent
from portal.timeutil import format_date_vn, utcnow

CLOSED = (status.RESOLVED, status.SPAM, status.DUPLICATE)
# The history events that close a case (the status machine's actions into CLOSED).
CLOSING_EVENTS = ("resolve", "mark_spam", "merge_duplicate")


@dataclass
class Candidate:
    """A closed report that still holds an identity or files."""

    report_id: int
    case_number: str
    closed_at: datetime
    has_identity: bool
    attachments: int


@dataclass
class Outcome:
    reports: list[Candidate] = field(default_factory=list)
    identities: int = 0
    attachments: int = 0
    files_not_deleted: list[str] = field(default_factory=list)


def closed_at(report: Report, _seen: frozenset = frozenset()) -> datetime | None:
    """When the case closed: the time of the latest closing event, or None if it is open.

    A duplicate is only as closed as the case it was merged into: its files and its
    reporter may still matter while that case is being handled.
    """
    if report.status not in CLOSED:
        return None
    when = db.session.scalar(
        select(func.max(ReportEvent.created_at))
        .where(ReportEvent.report_id == report.id, ReportEvent.kind.in_(CLOSING_EVENTS))
    )
    if when is None:
        return None
    when = when if when.tzinfo else when.replace(tzinfo=UTC)
    if report.status == status.DUPLICATE:
        target = db.session.get(Report, report.duplicate_of_id) if report.duplicate_of_id else None
        if target is None or target.id in _seen:
            return when
        target_closed = closed_at(target, _seen | {report.id})
        if target_closed is None:
            return None
        when = max(when, target_closed)
    return when


def candidates(days: int, *, now: datetime | None = None) -> list[Candidate]:
    """Reports closed more than ``days`` days ago that still hold an identity or files."""
    cutoff = (now or utcnow()) - timedelta(days=days)
    holding = or_(
        select(ReporterIdentity.report_id).where(ReporterIdentity.report_id == Report.id).exists(),
        select(Attachment.id).where(Attachment.report_id == Report.id).exists(),
    )
    found = []
    for report in db.session.scalars(
        select(Report).where(Report.status.in_(CLOSED), holding).order_by(Report.id)
    ):
        when = closed_at(report)
        if when is None or when >= cutoff:
            continue
        found.append(Candidate(report.id, report.case_number, when, report.identity is not None,
                               len(report.attachments)))
    return found


def purge(days: int, storage: LocalFileStorage, *, now: datetime | None = None) -> Outcome:
    """Delete identities and attachments of the candidates; one audit entry per report.

    Each report is its own transaction; its files are deleted only after the commit, so a
    failed commit never leaves rows pointing at deleted files.
    """
    outcome = Outcome()
    for candidate in candidates(days, now=now):
        report = db.session.get(Report, candidate.report_id)
        stored_names = [a.stored_name for a in report.attachments]
        if report.identity is not None:
            db.session.delete(report.identity)
        for attachment in list(report.attachments):
            db.session.delete(attachment)
        audit.record("retention_purge", report=report, days=days,
                     identity=candidate.has_identity, attachments=len(stored_names),
                     closed_at=candidate.closed_at.isoformat())
        db.session.commit()
        for name in stored_names:
            try:
                storage.delete(name)
            except OSError:
                outcome.files_not_deleted.append(name)
        outcome.reports.append(candidate)
        outcome.identities += int(candidate.has_identity)
        outcome.attachments += len(stored_names)
    return outcome


@click.group("retention", cls=AppGroup)
def retention_group() -> None:
    """Delete what closed cases no longer need."""


@retention_group.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Days after closing (default: TINBAO_RETENTION_DAYS, 365).")
@click.option("--dry-run", is_flag=True, help="Only list what would be deleted.")
def purge_command(days: int | None, dry_run: bool) -> None:
    """Delete reporter identities and attachments of cases closed more than N days ago."""
    if days is None:
        days = int(current_app.config["RETENTION_DAYS"])
    if dry_run:
        found = candidates(days)
        for c in found:
            click.echo(f"{c.case_number} (#{c.report_id}): đóng ngày {format_date_vn(c.closed_at)}"
                       f", danh tính: {'có' if c.has_identity else 'không'}, "
                       f"{c.attachments} tệp")
        click.echo(f"Chạy thử, chưa xóa gì: {len(found)} hồ sơ, "
                   f"{sum(c.has_identity for c in found)} danh tính, "
                   f"{sum(c.attachments for c in found)} tệp (đóng quá {days} ngày).")
        return
    outcome = purge(days, LocalFileStorage(current_app.config["UPLOAD_FOLDER"]))
    click.echo(f"Đã xóa: {len(outcome.reports)} hồ sơ, {outcome.identities} danh tính, "
               f"{outcome.attachments} tệp (đóng quá {days} ngày).")
    if outcome.files_not_deleted:
        click.echo("Không xóa được các tệp sau trong thư mục tải lên, cần xóa tay: "
                   + ", ".join(outcome.files_not_deleted), err=True)
        raise SystemExit(1)
