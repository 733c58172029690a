"""Opening, closing, extending and reading the legal deadlines of a report.

The stages follow the status machine (portal/reports/status.py): after every staff action,
:func:`follow` compares the stages the rules say should be running with the ones recorded,
closes those the report has left and opens the new ones. It is called from
``handling._commit`` and from filing, so a view never deals with deadlines itself.

"Now" comes from :func:`now`, which tests replace through ``app.config["CLOCK"]``.
"""

from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from sqlalchemy import exists, func, select
from sqlalchemy.orm import selectinload

from portal.audit import services as audit
from portal.deadlines import rules as deadline_rules
from portal.deadlines.calendar import (
    DAY_OFF,
    WORKING,
    WorkingCalendar,
    load_calendar,
    local_date,
    start_of_day,
)
from portal.deadlines.models import CalendarAdjustment, Deadline, DeadlineExtension
from portal.extensions import db
from portal.reports import status
from portal.reports.handling import ActionError
from portal.reports.models import Report
from portal.timeutil import format_date_vn, format_datetime_vn, utcnow

# Staff actions that can start or end a stage (views, notes and messages cannot).
FOLLOWED_ACTIONS = frozenset({
    "filed", "classify", "transfer", "withdraw_transfer", "accept", "return", "resolve",
    "mark_spam", "restore", "merge_duplicate",
    "sync",  # `flask deadlines sync`: reports filed before this feature, or a rules change
})

OVERDUE, DUE_SOON, ON_TIME = "overdue", "due_soon", "on_time"
CLOSED, CLOSED_LATE = "closed", "closed_late"
FILTERS = {OVERDUE: _l("Quá hạn"), DUE_SOON: _l("Sắp đến hạn")}
# What ended a stage, when it was not a status change of its own.
CLOSED_BY_LABELS = {"classify": _l("phân loại lại"), "sync": _l("đối chiếu lại")}
# How many overdue or due-soon deadlines the supervision dashboard lists (the rest by count).
WATCH_LIMIT = 100


def now() -> datetime:
    """The current time for deadlines (``app.config["CLOCK"]`` in tests)."""
    clock = current_app.config.get("CLOCK")
    return clock() if clock else utcnow()


def soon_days() -> int:
    """Working days left at which a deadline counts as due soon."""
    return int(current_app.config.get("DEADLINE_DUE_SOON_DAYS", 2))


def effective_type(report) -> str | None:
    """The type whose rules apply: a report with confirmed signs of a crime is handled as a
    crime report, whatever it was filed as (routing.md rule 3; Luật Tố cáo 2018, Art. 27)."""
    return "crime_report" if report.crime_confirmed else report.report_type


# --- following the status machine -------------------------------------------------------------

def _latest_event(report, kinds):
    found = None
    for event in report.events:
        if event.kind in kinds:
            found = event
    return found


def _computed(deadline: Deadline, version, report, cal: WorkingCalendar):
    """``(period, basis, Due)`` of a deadline under ``version``: the report's urgency picks the
    period, then every extension granted is applied in turn."""
    period, basis = version.period, version.basis
    if version.urgent and "urgent" in (report.flags or ()):
        period, basis = version.urgent
    due = deadline_rules.due_for(deadline.started_at, period, cal)
    for extension in deadline.extensions:
        ground = version.ground(extension.ground)
        if ground is not None:
            due = deadline_rules.extended(deadline.started_at, due, ground, cal)
    return period, basis, due


def refresh(deadline: Deadline, report, cal: WorkingCalendar) -> None:
    """Recompute an open deadline's rule, basis and due time from its start, the law in force
    then, the report's urgency and the extensions granted."""
    stage = deadline_rules.load().stage(deadline.report_type, deadline.stage)
    if stage is None:  # the rules file no longer has it: keep what was applied
        return
    version = stage.version_on(local_date(deadline.started_at))
    period, basis, due = _computed(deadline, version, report, cal)
    deadline.length, deadline.unit, deadline.basis = period.length, period.unit, basis
    deadline.due_at = due.due_at


def follow(report, cause: str) -> None:
    """Bring the report's deadlines in line with its status after ``cause`` (an action name).

    Closes every open stage the report has left (``closed_by`` = cause) and opens the stages
    its status now calls for, started at the event that began them. The caller commits.
    """
    if cause not in FOLLOWED_ACTIONS:
        return
    moment = now()
    # A new history event and the deadline it starts share one timestamp.
    for event in report.events:
        if event.created_at is None:
            event.created_at = moment
    report_type = effective_type(report)
    wanted = {}
    for stage in deadline_rules.load().for_type(report_type):
        start = _latest_event(report, stage.start)
        if report.status in stage.open_while and start is not None:
            wanted[stage.stage] = (stage, start)
    # A deadline is computed only for a stage in ``wanted``: without one, the calendar is not
    # read from the database (a filing that leaves the type to the Front starts no deadline;
    # docs/benchmarks.md, "Load (issue 6)"). Read before any new deadline is added, so its
    # query does not flush a half-built row.
    cal = load_calendar() if wanted else None
    for deadline in report.deadlines:
        if deadline.closed_at is not None:
            continue
        want = wanted.get(deadline.stage)
        if (want is None or deadline.report_type != report_type
                or deadline.start_event is not want[1]):
            deadline.closed_at, deadline.closed_by = moment, cause
        else:
            refresh(deadline, report, cal)
    for code, (stage, start) in wanted.items():
        if any(d.report_type == report_type and d.stage == code and d.start_event is start
               for d in report.deadlines):
            continue
        deadline = Deadline(report_type=report_type, stage=code, party=stage.party,
                            start_event=start, started_at=start.created_at)
        report.deadlines.append(deadline)
        refresh(deadline, report, cal)
        if stage.closes_at_start:
            # The start event fulfils the duty (e.g. the result recorded here is the report
            # to the Front): kept as a record, already met.
            deadline.closed_at, deadline.closed_by = start.created_at, cause


def recompute_open() -> int:
    """Recompute every open deadline (after the working-day calendar changed); returns how
    many moved. The caller commits."""
    cal = load_calendar()
    moved = 0
    for deadline in db.session.scalars(select(Deadline).where(Deadline.closed_at.is_(None))):
        before = deadline.due_at
        refresh(deadline, deadline.report, cal)
        moved += deadline.due_at != before
    return moved


# --- extensions -------------------------------------------------------------------------------

def extension_grounds(deadline: Deadline) -> list:
    """The grounds on which ``deadline`` may be extended (empty: the law allows none)."""
    stage = deadline_rules.load().stage(deadline.report_type, deadline.stage)
    if stage is None or not deadline.is_open:
        return []
    return list(stage.version_on(local_date(deadline.started_at)).grounds)


def extend(user, report, deadline_id, ground_code: str, reason: str) -> DeadlineExtension:
    """Extend one of the report's open deadlines on a lawful ground, with the reason.

    Refused (``ActionError``, nothing changed) without a reason, on a ground the law does not
    give this stage, or beyond the number of extensions or the total length the law allows.
    The reporter is told the new date (not the reason); the action is audited.
    """
    reason = (reason or "").strip()
    deadline = next((d for d in report.deadlines if d.id == deadline_id and d.is_open), None)
    if deadline is None:
        raise ActionError(_l("Không tìm thấy thời hạn đang chạy để gia hạn."))
    if not reason:
        raise ActionError(_l("Vui lòng ghi lý do gia hạn."))
    stage = deadline_rules.load().stage(deadline.report_type, deadline.stage)
    version = stage.version_on(local_date(deadline.started_at)) if stage else None
    if version is None or not version.grounds:
        raise ActionError(_l("Luật không cho phép gia hạn thời hạn này (%(basis)s).",
                             basis=deadline.basis))
    ground = version.ground(ground_code)
    if ground is None:
        raise ActionError(_l("Vui lòng chọn căn cứ gia hạn."))
    label = deadline_rules.GROUND_LABELS[ground.code]
    granted = [e.ground for e in deadline.extensions]
    if granted.count(ground.code) >= ground.times:
        raise ActionError(_l(
            "Không thể gia hạn: căn cứ “%(ground)s” chỉ được gia hạn %(times)d lần và đã dùng "
            "hết (%(basis)s).", ground=label, times=ground.times, basis=ground.basis))
    if ground.requires and ground.requires not in granted:
        raise ActionError(_l(
            "Không thể gia hạn: căn cứ “%(ground)s” chỉ dùng được sau khi đã gia hạn vì "
            "“%(required)s” (%(basis)s).", ground=label,
            required=deadline_rules.GROUND_LABELS[ground.requires], basis=ground.basis))
    if version.max_extensions is not None and len(granted) >= version.max_extensions:
        raise ActionError(_l(
            "Không thể gia hạn: thời hạn này đã được gia hạn %(n)d lần, là số lần tối đa luật "
            "cho phép.", n=len(granted)))
    cal = load_calendar()
    _period, _basis, current = _computed(deadline, version, report, cal)
    after = deadline_rules.extended(deadline.started_at, current, ground, cal)
    if version.max_total is not None:
        limit = deadline_rules.add_period(local_date(deadline.started_at), version.max_total,
                                          cal)
        if after.nominal > limit:
            raise ActionError(_l(
                "Không thể gia hạn: tổng thời hạn sẽ vượt mức tối đa luật cho phép "
                "(%(length)d %(unit)s kể từ khi bắt đầu).", length=version.max_total.length,
                unit=deadline_rules.UNIT_LABELS[version.max_total.unit]))
    if after.due_at <= deadline.due_at:
        raise ActionError(_l("Căn cứ này không làm thời hạn dài thêm (hạn hiện tại đã là "
                             "%(due)s).", due=format_datetime_vn(deadline.due_at)))
    agency = report.current_agency
    event = status.record_event(report, "deadline_extended", actor=user, agency=agency)
    event.created_at = now()
    extension = DeadlineExtension(
        ground=ground.code, reason=reason, actor_user_id=user.id,
        due_before=deadline.due_at, due_after=after.due_at, created_at=event.created_at,
    )
    deadline.extensions.append(extension)
    deadline.due_at = after.due_at
    db.session.flush()
    extension.event_id = event.id
    audit.record("extend_deadline", user=user, report=report, deadline_id=deadline.id,
                 stage=deadline.stage, ground=ground.code, due_at=after.due_at.isoformat())
    db.session.commit()
    return extension


def extension_for_event(event) -> DeadlineExtension | None:
    """The extension a "deadline_extended" history event recorded."""
    return db.session.scalar(
        select(DeadlineExtension).where(DeadlineExtension.event_id == event.id))


# --- reading: states, texts, queue filters ------------------------------------------------------

@dataclass(frozen=True)
class DeadlineState:
    """How a deadline stands at a moment, for people: ``kind`` for styling and filtering,
    ``text`` in words (never colour alone)."""

    kind: str
    text: str


def due_soon_cutoff(moment: datetime, cal: WorkingCalendar, days: int) -> datetime:
    """Deadlines ending before this moment have at most ``days`` working days left."""
    return start_of_day(cal.add_working_days(local_date(moment), days + 1))


def state_of(deadline: Deadline, moment: datetime, cal: WorkingCalendar,
             days: int) -> DeadlineState:
    """Overdue, due soon, on time or closed, with the words to show."""
    if deadline.closed_at is not None:
        if deadline.closed_at > deadline.due_at:
            return DeadlineState(CLOSED_LATE, _("Đã xong, quá hạn"))
        return DeadlineState(CLOSED, _("Đã xong, đúng hạn"))
    due_day, today = local_date(deadline.due_at), local_date(moment)
    if moment > deadline.due_at:
        late_days = (today - due_day).days
        if late_days < 1:
            hours = max(int((moment - deadline.due_at).total_seconds() // 3600), 1)
            return DeadlineState(OVERDUE, ngettext("Quá hạn %(num)d giờ", "Quá hạn %(num)d giờ",
                                                   hours))
        return DeadlineState(OVERDUE, ngettext("Quá hạn %(num)d ngày", "Quá hạn %(num)d ngày",
                                               late_days))
    soon = deadline.due_at < due_soon_cutoff(moment, cal, days)
    kind = DUE_SOON if soon else ON_TIME
    if deadline.unit == "hours" and (deadline.due_at - moment).total_seconds() < 24 * 3600:
        hours = max(int((deadline.due_at - moment).total_seconds() // 3600), 1)
        return DeadlineState(DUE_SOON, ngettext("Còn %(num)d giờ", "Còn %(num)d giờ", hours))
    if due_day == today:
        return DeadlineState(DUE_SOON, _("Đến hạn hôm nay"))
    left = cal.working_days_between(today, due_day)
    if soon and left >= 1:
        return DeadlineState(kind, ngettext("Còn %(num)d ngày làm việc",
                                            "Còn %(num)d ngày làm việc", left))
    return DeadlineState(kind, _("Hạn %(date)s", date=format_date_vn(deadline.due_at)))


@dataclass(frozen=True)
class RowDeadline:
    """The most urgent open deadline of a report, for a queue row."""

    kind: str
    text: str
    stage: str
    due_at: datetime


def row_deadlines(report_ids, moment: datetime | None = None) -> dict[int, RowDeadline]:
    """``{report_id: RowDeadline}`` for the reports that have an open deadline."""
    if not report_ids:
        return {}
    moment = moment or now()
    cal, days = load_calendar(), soon_days()
    rows = db.session.scalars(
        select(Deadline).where(Deadline.report_id.in_(list(report_ids)),
                               Deadline.closed_at.is_(None))
        .order_by(Deadline.due_at, Deadline.id)
    )
    found: dict[int, RowDeadline] = {}
    for deadline in rows:
        if deadline.report_id in found:
            continue
        state = state_of(deadline, moment, cal, days)
        found[deadline.report_id] = RowDeadline(
            state.kind, state.text, str(deadline_rules.STAGE_LABELS[deadline.stage]),
            deadline.due_at)
    return found


def filter_query(query, which: str | None, moment: datetime | None = None):
    """Narrow a report query (portal.reports.handling.queue_query) to reports with an overdue
    or a due-soon open deadline. Any other ``which`` leaves it as it is."""
    if which not in FILTERS:
        return query
    moment = moment or now()
    condition = [Deadline.report_id == Report.id, Deadline.closed_at.is_(None)]
    if which == OVERDUE:
        condition.append(Deadline.due_at < moment)
    else:
        cutoff = due_soon_cutoff(moment, load_calendar(), soon_days())
        condition += [Deadline.due_at >= moment, Deadline.due_at < cutoff]
    return query.where(exists().where(*condition))


def case_deadlines(report, moment: datetime | None = None) -> list[dict]:
    """Every stage of a case with its dates, basis, state and extensions, for the case pages."""
    moment = moment or now()
    cal, days = load_calendar(), soon_days()
    shown = []
    for deadline in report.deadlines:
        state = state_of(deadline, moment, cal, days)
        shown.append({
            "deadline": deadline,
            "label": deadline_rules.STAGE_LABELS[deadline.stage],
            "length": deadline.length,
            "unit": deadline_rules.UNIT_LABELS[deadline.unit],
            "state": state,
            "closed_by": CLOSED_BY_LABELS.get(deadline.closed_by)
            or status.EVENT_LABELS.get(deadline.closed_by, deadline.closed_by),
            "grounds": [(g.code, deadline_rules.GROUND_LABELS[g.code], g.basis)
                        for g in extension_grounds(deadline)],
            "extensions": [
                {"at": e.created_at, "ground": deadline_rules.GROUND_LABELS.get(e.ground, e.ground),
                 "reason": e.reason, "due_after": e.due_after}
                for e in deadline.extensions
            ],
        })
    return shown


def overdue_and_soon(moment: datetime | None = None, limit: int = WATCH_LIMIT) -> dict:
    """For supervisors: the ``limit`` open deadlines that are most overdue or due soonest, with
    who holds the case; and the two counts over all of them.

    Only the first ``limit`` are listed: with a province's history there can be tens of
    thousands, and rendering (and auditing) every one made the dashboard take 45 s on the
    1,000,000-report benchmark (docs/benchmarks.md). The full lists are the triage queue's
    deadline filters.
    """
    moment = moment or now()
    cal, days = load_calendar(), soon_days()
    cutoff = due_soon_cutoff(moment, cal, days)
    open_before = (Deadline.closed_at.is_(None), Deadline.due_at < cutoff)
    overdue = db.session.scalar(
        select(func.count(Deadline.id)).where(*open_before, Deadline.due_at < moment))
    due_soon = db.session.scalar(
        select(func.count(Deadline.id)).where(*open_before, Deadline.due_at >= moment))
    rows = db.session.scalars(
        select(Deadline).where(*open_before)
        .options(selectinload(Deadline.report).selectinload(Report.current_agency))
        .order_by(Deadline.due_at, Deadline.id).limit(limit)
    ).all()
    listed = []
    for deadline in rows:
        report = deadline.report
        listed.append({
            "report": report,
            "label": deadline_rules.STAGE_LABELS[deadline.stage],
            "holder": (report.current_agency.name if deadline.party == "agency"
                       and report.current_agency else _("Mặt trận Tổ quốc")),
            "due_at": deadline.due_at,
            "state": state_of(deadline, moment, cal, days),
        })
    return {"rows": listed, "overdue": overdue, "due_soon": due_soon}


# --- the calendar's adjustments (admin) ----------------------------------------------------------

def add_adjustment(user, day: date, kind: str, note: str) -> CalendarAdjustment:
    """Record a make-up working day or an extra day off; open deadlines move with it."""
    note = (note or "").strip()[:255]
    if kind not in (WORKING, DAY_OFF):
        raise ActionError(_l("Vui lòng chọn loại ngày."))
    if db.session.scalar(select(CalendarAdjustment).where(CalendarAdjustment.day == day)):
        raise ActionError(_l("Ngày %(date)s đã có điều chỉnh; xóa điều chỉnh cũ trước.",
                             date=format_date_vn(day)))
    adjustment = CalendarAdjustment(day=day, kind=kind, note=note,
                                    created_by_user_id=user.id)
    db.session.add(adjustment)
    db.session.flush()
    moved = recompute_open()
    audit.record("add_calendar_adjustment", user=user, day=day.isoformat(), kind=kind,
                 note=note, deadlines_moved=moved)
    db.session.commit()
    return adjustment


def remove_adjustment(user, adjustment_id) -> None:
    """Remove an adjustment; open deadlines move back."""
    adjustment = db.session.get(CalendarAdjustment, adjustment_id) if adjustment_id else None
    if adjustment is None:
        raise ActionError(_l("Không tìm thấy ngày điều chỉnh."))
    day, kind = adjustment.day, adjustment.kind
    db.session.delete(adjustment)
    db.session.flush()
    moved = recompute_open()
    audit.record("remove_calendar_adjustment", user=user, day=day.isoformat(), kind=kind,
                 deadlines_moved=moved)
    db.session.commit()


def adjustments() -> list[CalendarAdjustment]:
    return list(db.session.scalars(select(CalendarAdjustment).order_by(CalendarAdjustment.day)))
