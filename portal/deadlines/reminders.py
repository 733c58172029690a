"""The daily reminder job: ``flask --app portal deadlines remind`` (run it from cron).

Every open deadline that is due soon brings a reminder to whoever must act: the users of the
agency holding the case, or the Front's triage staff for the Front's stages. An overdue one
brings the same reminder and an escalation to the supervisors. Each (deadline, user, kind) is
sent at most once per day in Vietnam, so running the job twice the same day sends nothing new.

A message holds only case numbers, stages, due dates, legal bases and links to the case page
behind the staff login: never the reporter's identity nor a word of the report.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, replace

import click
from flask import current_app, url_for
from flask.cli import AppGroup
from flask_babel import gettext as _
from sqlalchemy import select

from portal.accounts.models import User
from portal.audit import services as audit
from portal.deadlines import rules as deadline_rules
from portal.deadlines import services
from portal.deadlines.calendar import load_calendar, local_date
from portal.deadlines.models import Deadline, DeadlineNotification
from portal.extensions import db
from portal.notify import Notification, get_notifier
from portal.reports.models import Report
from portal.reports.retention import CLOSED as CLOSED_STATUSES
from portal.timeutil import format_datetime_vn

REMINDER, ESCALATION = "reminder", "escalation"


@dataclass
class Summary:
    reminders: int = 0
    escalations: int = 0
    messages: int = 0


@dataclass(frozen=True)
class Item:
    kind: str
    deadline: Deadline
    state: services.DeadlineState


def _active(role: str, **where) -> list[User]:
    query = select(User).where(User.role == role, User.active.is_(True))
    for name, value in where.items():
        query = query.where(getattr(User, name) == value)
    return list(db.session.scalars(query.order_by(User.id)))


def due_items(moment) -> dict[int, list[Item]]:
    """``{user_id: [Item]}``: what each user should hear about at ``moment``."""
    cal, days = load_calendar(), services.soon_days()
    cutoff = services.due_soon_cutoff(moment, cal, days)
    deadlines = db.session.scalars(
        select(Deadline).where(Deadline.closed_at.is_(None), Deadline.due_at < cutoff)
        .order_by(Deadline.due_at, Deadline.id)
    ).all()
    triage, supervisors = _active("triage"), _active("supervisor")
    agency_users: dict[int, list[User]] = {}
    items: dict[int, list[Item]] = defaultdict(list)
    for deadline in deadlines:
        state = services.state_of(deadline, moment, cal, days)
        if deadline.party == "front":
            responsible = triage
        else:
            agency_id = deadline.report.current_agency_id
            if agency_id not in agency_users:
                agency_users[agency_id] = _active("agency", agency_id=agency_id) \
                    if agency_id else []
            responsible = agency_users[agency_id]
        for user in responsible:
            items[user.id].append(Item(REMINDER, deadline, state))
        if state.kind == services.OVERDUE:
            for user in supervisors:
                items[user.id].append(Item(ESCALATION, deadline, state))
    return items


def _line(item: Item, user: User) -> str:
    deadline, report = item.deadline, item.deadline.report
    endpoint = "agency.case" if user.role == "agency" else "triage.case"
    holder = (report.current_agency.name if deadline.party == "agency" and report.current_agency
              else _("Mặt trận Tổ quốc (phân loại, chuyển)"))
    lines = [
        f"- {_('Hồ sơ')} {report.case_number} · {deadline_rules.STAGE_LABELS[deadline.stage]}"
        f" · {_('hạn')} {format_datetime_vn(deadline.due_at)} · {item.state.text}",
        f"  {_('Căn cứ')}: {deadline.basis}",
    ]
    if item.kind == ESCALATION:
        lines.append(f"  {_('Đang ở')}: {holder}")
    lines.append(f"  {url_for(endpoint, report_id=report.id, _external=True)}")
    return "\n".join(lines)


def compose(user: User, items: list[Item]) -> Notification:
    """One message for one user: their reminders, then (supervisors) the escalations."""
    reminders = [i for i in items if i.kind == REMINDER]
    escalations = [i for i in items if i.kind == ESCALATION]
    overdue = sum(1 for i in items if i.state.kind == services.OVERDUE)
    parts = [_("Xin chào %(name)s,", name=user.display_name), ""]
    if reminders:
        parts += [_("Các hồ sơ sau sắp đến hạn hoặc đã quá hạn theo luật:"), ""]
        parts += [_line(i, user) for i in reminders] + [""]
    if escalations:
        parts += [_("Báo cáo giám sát: các hồ sơ sau đã quá hạn:"), ""]
        parts += [_line(i, user) for i in escalations] + [""]
    parts.append(_("Thư này không chứa nội dung tin hay thông tin người gửi. Mở hồ sơ bằng "
                   "liên kết (cần đăng nhập)."))
    subject = _("[tinbao] Thời hạn: %(overdue)d hồ sơ quá hạn, %(soon)d hồ sơ sắp đến hạn",
                overdue=overdue, soon=len(items) - overdue)
    return Notification(username=user.username, email=getattr(user, "email", None),
                        subject=subject, body="\n".join(parts))


def message_key(user_id: int, day, items: list[Item]) -> str:
    """The idempotency key of one day's message to one user about these items: if the run is
    interrupted between sending and recording (a worker killed), the retry sends the same
    message with the same key, which the file sender skips and mail clients recognise."""
    what = ",".join(f"{i.deadline.id}:{i.kind}" for i in sorted(
        items, key=lambda i: (i.deadline.id, i.kind)))
    digest = hashlib.sha256(f"{user_id}|{day.isoformat()}|{what}".encode()).hexdigest()[:20]
    return f"{day:%Y%m%d}{digest}"


def remind(moment=None, notifier=None) -> Summary:
    """Send today's reminders and escalations that were not sent yet; returns the counts."""
    moment = moment or services.now()
    notifier = notifier or get_notifier(current_app)
    day = local_date(moment)
    summary = Summary()
    base_url = current_app.config.get("BASE_URL") or "http://127.0.0.1:5000"
    with current_app.test_request_context("/", base_url=base_url):
        for user_id, items in due_items(moment).items():
            sent = {tuple(row) for row in db.session.execute(
                select(DeadlineNotification.deadline_id, DeadlineNotification.kind)
                .where(DeadlineNotification.user_id == user_id, DeadlineNotification.day == day)
            )}
            fresh = [i for i in items if (i.deadline.id, i.kind) not in sent]
            if not fresh:
                continue
            user = db.session.get(User, user_id)
            notifier.send(replace(compose(user, fresh), key=message_key(user_id, day, fresh)))
            for item in fresh:
                db.session.add(DeadlineNotification(deadline_id=item.deadline.id,
                                                    user_id=user_id, kind=item.kind, day=day,
                                                    sent_at=moment))
            summary.messages += 1
            summary.reminders += sum(1 for i in fresh if i.kind == REMINDER)
            summary.escalations += sum(1 for i in fresh if i.kind == ESCALATION)
            # Recorded user by user, right after sending: if the run fails later, a second
            # run the same day does not send these again.
            db.session.commit()
    if summary.messages:
        audit.record("deadline_reminders", day=day.isoformat(), messages=summary.messages,
                     reminders=summary.reminders, escalations=summary.escalations)
        db.session.commit()
    return summary


@click.group("deadlines", cls=AppGroup)
def deadlines_group() -> None:
    """Legal deadlines: daily reminders (docs/deadlines.md)."""


@deadlines_group.command("remind")
def remind_command() -> None:
    """Remind the responsible staff of deadlines due soon; escalate overdue ones to the
    supervisors. Safe to run more than once a day."""
    summary = remind()
    click.echo(f"Đã gửi {summary.messages} thư: {summary.reminders} nhắc hạn, "
               f"{summary.escalations} báo cáo quá hạn.")


@deadlines_group.command("sync")
def sync_command() -> None:
    """Open the deadlines of reports still being handled from their history, and recompute
    every open one: after upgrading to this version, or after deadlines.yaml changed."""
    open_reports = db.session.scalars(
        select(Report).where(Report.status.not_in(CLOSED_STATUSES)).order_by(Report.id))
    count = 0
    for report in open_reports:
        services.follow(report, "sync")
        count += 1
    moved = services.recompute_open()
    db.session.commit()
    click.echo(f"Đã đối chiếu {count} hồ sơ; {moved} thời hạn thay đổi.")
