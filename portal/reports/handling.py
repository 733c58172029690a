"""Staff work on a case: triage by the Front and handling by the receiving agency.

Each function locks the report, validates, changes the report through the status machine,
writes the audit entry and commits, so a view only has to call one function and show its error.

Two officers acting on one report at the same moment: every action first locks the report
(:func:`lock_report`) and only then reads its status, claim and agency, so the second officer
waits for the first to finish and is then told clearly why their action no longer applies —
a report is never transferred twice, never with two agencies, never claimed by two officers
(docs/production.md "Concurrency").
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, not_, or_, select, update

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.audit import services as audit
from portal.classification.models import Classification
from portal.extensions import db
from portal.labels import AGENCY_KIND_LABELS, OUTCOMES
from portal.protection import agency_copy
from portal.protection import search as search_index
from portal.reports import status
from portal.reports.models import (
    FLAGS,
    REPORT_TYPES,
    SECTORS,
    SUBJECTS,
    InternalNote,
    Message,
    Report,
)
from portal.routing import services as routing
from portal.timeutil import format_datetime_vn, utcnow

# Roles that oversee the Front's officers: they may release or reassign anyone's claim.
SUPERVISING_ROLES = ("supervisor", "admin")


class ActionError(Exception):
    """A staff action that cannot be done, with a message to show."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


def _apply(report, action, **kwargs):
    try:
        return status.apply(report, action, **kwargs)
    except status.IllegalTransition as exc:
        raise ActionError(exc.message) from exc


def lock_report(report) -> None:
    """Lock ``report`` until the transaction ends and read it again as last committed.

    Called before any check that an action depends on (status, claim, agency): if another
    officer is acting on the report, we wait until they commit and then see what they did.

    Locks are always taken in the same order — first the audit chain's (every action writes
    an audit entry, which takes it anyway: portal/audit/services.py), then the report's row —
    so that two transactions never each hold the lock the other waits for. On PostgreSQL the
    row is locked with ``SELECT … FOR NO KEY UPDATE``: NO KEY, so that rows which only refer
    to the report (history events, the audit entries of colleagues opening it) are not held
    up. On SQLite the chain's lock is the database's write lock, which already lets one
    writer at a time through; the row is simply read again.
    """
    audit.lock_chain(db.session)
    db.session.refresh(report, with_for_update={"key_share": True})


def _claimer_name(report) -> str:
    officer = db.session.get(User, report.claimed_by_user_id)
    return officer.display_name if officer is not None else "?"


def check_claim(user, report) -> None:
    """Refuse when another Front officer has claimed the report; supervisors may act on any.

    An unclaimed report may be handled by any triage officer (claiming is how officers share
    the queue, not a precondition)."""
    if report.claimed_by_user_id in (None, user.id) or user.role in SUPERVISING_ROLES:
        return
    raise ActionError(_l(
        "Hồ sơ này đang do %(name)s xử lý (nhận lúc %(time)s): chỉ người đã nhận hoặc lãnh "
        "đạo mới thao tác được.",
        name=_claimer_name(report), time=format_datetime_vn(report.claimed_at)))


def _check_agency(user, report) -> None:
    """An agency officer acts only on a report that is (still) with their agency."""
    if user.role == "agency" and not agency_may_see(user, report):
        raise ActionError(_l("Hồ sơ này không còn ở cơ quan của bạn."))


def _commit(action: str, user, report, **detail) -> None:
    # Open and close the report's legal deadlines as it moves (docs/deadlines.md). Imported
    # here: the deadlines service uses this module's ActionError.
    from portal.deadlines import services as deadlines

    deadlines.follow(report, action)
    audit.record(action, user=user, report=report, **detail)
    db.session.commit()


def has_crime_signs():
    """SQL condition: staff confirmed signs of a crime, or (not yet decided) the classifier
    flagged them."""
    return or_(
        Report.crime_confirmed.is_(True),
        and_(Report.crime_confirmed.is_(None), Classification.crime_flag.is_(True)),
    )


def queue_query(*, statuses=None, report_type=None, sector=None, province_code=None,
                ward_code=None, search=None, agency_id=None, crime_signs=None,
                crime_first=False, claimed_by=None, unclaimed=False):
    """Reports matching the filters, oldest first (the order the law's deadlines run).

    ``sector`` matches the staff-confirmed sector, or the classifier's while unconfirmed.
    ``crime_first`` puts reports with signs of a crime ahead ("không bỏ lọt tội phạm").
    ``claimed_by`` (a user id) keeps the reports that officer handles; ``unclaimed`` those
    nobody handles.
    """
    query = select(Report).outerjoin(Classification, Classification.report_id == Report.id)
    if statuses:
        query = query.where(Report.status.in_(statuses))
    if claimed_by is not None:
        query = query.where(Report.claimed_by_user_id == claimed_by)
    elif unclaimed:
        query = query.where(Report.claimed_by_user_id.is_(None))
    if agency_id is not None:
        query = query.where(Report.current_agency_id == agency_id)
    if report_type:
        query = query.where(Report.report_type == report_type)
    if sector:
        query = query.where(func.coalesce(Report.sector, Classification.sector) == sector)
    if crime_signs is True:
        query = query.where(has_crime_signs())
    elif crime_signs is False:
        query = query.where(not_(has_crime_signs()))
    if province_code:
        query = query.where(Report.province_code == province_code)
    if ward_code:
        query = query.where(Report.ward_code == ward_code)
    if search:
        # Accent-insensitive through the keyed token index: every folded word must appear.
        query = search_index.matching(query, Report.id, search)
    order = [Report.created_at.asc(), Report.id.asc()]
    if crime_first:
        order.insert(0, case((has_crime_signs(), 0), else_=1))
    return query.order_by(*order)


def count(query) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))


def log_view(user, report) -> None:
    """Record that a staff member opened a case (Luật Tố cáo 2018, Art. 49: access is logged)."""
    _commit("view_case", user, report)


def log_list_view(user, listing: str, reports) -> None:
    """Record which cases a list page showed to a staff member: a list shows each case's
    opening words, so it is access too. The filters and search words are not recorded."""
    report_ids = [report.id for report in reports]
    if report_ids:
        audit.record("view_list", user=user, list=listing, report_ids=report_ids)
        db.session.commit()


def classify(user, report, *, report_type, sector, subject, flags, crime=None) -> None:
    """Set the staff-confirmed type, sector, subject, flags and signs of a crime."""
    lock_report(report)
    check_claim(user, report)
    if report.status not in status.WITH_FRONT:
        raise ActionError(_l("Chỉ phân loại được hồ sơ đang ở Mặt trận."))
    if report_type not in REPORT_TYPES or sector not in SECTORS:
        raise ActionError(_l("Vui lòng chọn loại đơn và lĩnh vực."))
    if subject and subject not in SUBJECTS:
        raise ActionError(_l("Đối tượng không hợp lệ."))
    if any(flag not in FLAGS for flag in flags):
        raise ActionError(_l("Dấu hiệu không hợp lệ."))
    if report.status in (status.RECEIVED, status.RETURNED):
        _apply(report, "start_review", actor=user)
    report.report_type = report_type
    report.sector = sector
    report.subject = subject or None
    report.flags = sorted(set(flags))
    report.crime_confirmed = crime
    _commit("classify", user, report, report_type=report_type, sector=sector,
            subject=subject, flags=report.flags, crime=crime)


def add_note(user, report, body: str) -> None:
    """An internal note (any Front officer may add one, claimed or not)."""
    body = (body or "").strip()
    if not body:
        raise ActionError(_l("Ghi chú trống."))
    lock_report(report)
    report.notes.append(InternalNote(author_user_id=user.id, body=body))
    _commit("add_note", user, report)


def message_reporter(user, report, body: str) -> None:
    """Ask the reporter a question or tell them something (they read it with their code)."""
    body = (body or "").strip()
    if not body:
        raise ActionError(_l("Tin nhắn trống."))
    lock_report(report)
    _check_agency(user, report)
    agency = user.agency if user.role == "agency" else None
    message = Message(from_reporter=False, body=body, sender_agency=agency,
                      author_user_id=user.id)
    report.messages.append(message)
    agency_copy.mask_message(report, message)
    status.record_event(report, "info_requested", actor=user, agency=agency)
    _commit("message_reporter", user, report)


def transfer(user, report, agency: Agency | None, reason: str, *,
             override_reason: str | None = None) -> None:
    """Hand the report to exactly one agency, with the reason for choosing it.

    The routing rules' suggestion is worked out again here, so every transfer records the rule
    behind it; choosing another agency than the suggested one needs ``override_reason``.
    """
    reason = (reason or "").strip()
    override_reason = (override_reason or "").strip()
    lock_report(report)
    check_claim(user, report)
    if agency is None or not agency.active:
        raise ActionError(_l("Vui lòng chọn cơ quan nhận."))
    if not reason:
        raise ActionError(_l("Vui lòng ghi lý do, căn cứ chuyển."))
    if not report.report_type or not report.sector:
        raise ActionError(_l("Cần phân loại (loại đơn, lĩnh vực) trước khi chuyển."))
    if not status.can("transfer", report.status):
        # The status machine's refusal comes first: a case with an agency is never sent to a
        # second one, whatever the rules say.
        raise ActionError(status.IllegalTransition("transfer", report.status).message)
    suggestion = routing.suggest_for_report(report)
    overridden = routing.is_override(suggestion, agency)
    if overridden and not override_reason:
        raise ActionError(_l(
            "Cơ quan được chọn khác với gợi ý (%(agency)s, quy tắc %(rule)s): vui lòng ghi lý "
            "do không theo gợi ý.",
            agency=suggestion.agency_name or AGENCY_KIND_LABELS[suggestion.agency_kind],
            rule=suggestion.rule_id))
    event = _apply(report, "transfer", actor=user, agency=agency, reason=reason)
    event.routing_rule = suggestion.rule_id
    event.suggested_agency_id = suggestion.agency_id
    event.override_reason = override_reason if overridden else None
    # One holder at a time: the new agency replaces any earlier one.
    report.current_agency = agency
    _commit("transfer", user, report, agency_id=agency.id, reason=reason,
            rule=suggestion.rule_id, rules_version=suggestion.rules_version,
            suggested_agency_id=suggestion.agency_id, override=overridden,
            override_reason=override_reason if overridden else None)


def withdraw_transfer(user, report, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ActionError(_l("Vui lòng ghi lý do rút lại."))
    lock_report(report)
    agency = report.current_agency
    _apply(report, "withdraw_transfer", actor=user, agency=agency, reason=reason)
    report.current_agency = None
    _commit("withdraw_transfer", user, report, reason=reason)


def mark_spam(user, report, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ActionError(_l("Vui lòng ghi lý do đánh dấu tin rác."))
    lock_report(report)
    check_claim(user, report)
    _apply(report, "mark_spam", actor=user, reason=reason)
    _commit("mark_spam", user, report)


def restore(user, report) -> None:
    lock_report(report)
    _apply(report, "restore", actor=user)
    _commit("restore", user, report)


def merge_duplicate(user, report, target_id: int | None) -> None:
    """Close ``report`` as a duplicate of another case; the reporter is told."""
    lock_report(report)
    check_claim(user, report)
    target = db.session.get(Report, target_id) if target_id else None
    if target is None or target.id == report.id:
        raise ActionError(_l("Không tìm thấy hồ sơ gốc để gộp."))
    # The target too: it must not be closed at this very moment (the chain's lock is held
    # already, so the order of the two row locks cannot deadlock).
    db.session.refresh(target, with_for_update={"key_share": True})
    if target.status in (status.SPAM, status.DUPLICATE):
        raise ActionError(_l("Không gộp vào một hồ sơ đã đóng là tin rác hoặc tin trùng."))
    _apply(report, "merge_duplicate", actor=user, reason=f"#{target.id}")
    report.duplicate_of_id = target.id
    _commit("merge_duplicate", user, report, target_id=target.id)


# --- claims: which Front officer handles a report ----------------------------------------

def _take(user, report) -> bool:
    """Give the (locked) report to ``user`` if nobody has it; False if somebody has.

    The claim is written by a conditional UPDATE (… WHERE claimed_by_user_id IS NULL) whose
    row count says whether it took: with the lock held it always does, and without a lock (a
    path that forgot one) two officers still cannot both get the report.
    """
    result = db.session.execute(
        update(Report)
        .where(Report.id == report.id, Report.claimed_by_user_id.is_(None),
               Report.status.in_(status.WITH_FRONT))
        .values(claimed_by_user_id=user.id, claimed_at=utcnow())
        .execution_options(synchronize_session="evaluate")
    )
    if result.rowcount != 1:
        return False
    _start_review(report, user)
    return True


def _start_review(report, actor) -> None:
    if report.status in (status.RECEIVED, status.RETURNED):
        # Taking a report in hand is starting to review it; the reporter sees "being checked".
        _apply(report, "start_review", actor=actor)


def claim(user, report) -> bool:
    """Nhận xử lý: the report is this officer's until it leaves the Front or is released.

    Returns False, changing nothing, when the officer already has it. Raises
    :class:`ActionError` when another officer has it (naming them, so the two can talk)."""
    lock_report(report)
    if report.status not in status.WITH_FRONT:
        raise ActionError(_l("Chỉ nhận xử lý được hồ sơ đang ở Mặt trận."))
    if report.claimed_by_user_id == user.id:
        db.session.rollback()
        return False
    if report.claimed_by_user_id is not None or not _take(user, report):
        raise ActionError(_l(
            "Hồ sơ này đã có người nhận xử lý: %(name)s, lúc %(time)s. Vui lòng chọn hồ sơ "
            "khác.", name=_claimer_name(report), time=format_datetime_vn(report.claimed_at)))
    _commit("claim", user, report)
    return True


def take_next(user) -> Report | None:
    """Nhận hồ sơ tiếp theo: claim the first report nobody handles, in the queue's order
    (signs of a crime first, then the oldest); None when there is none.

    On PostgreSQL the candidate row is locked with ``FOR NO KEY UPDATE SKIP LOCKED``: a row
    another officer is taking at this moment is passed over, not waited for, so officers
    pressing the button together get different reports. On SQLite the write lock makes them
    take turns; the conditional UPDATE in :func:`_take` is the last word on both.
    """
    audit.lock_chain(db.session)  # the same lock order as every other action (lock_report)
    candidates = (
        queue_query(statuses=list(status.WITH_FRONT), crime_first=True)
        .where(Report.claimed_by_user_id.is_(None))
        .limit(1)
        .with_for_update(key_share=True, skip_locked=True, of=Report)
        .execution_options(populate_existing=True)
    )
    for _attempt in range(5):
        report = db.session.scalars(candidates).first()
        if report is None:
            break
        if _take(user, report):
            _commit("claim", user, report, next=True)
            return report
    db.session.rollback()
    return None


def release(user, report) -> None:
    """Trả về hàng chờ: the report goes back to the queue for any officer. Its claimer may
    release it, and a supervisor any claim (e.g. of an officer who is away)."""
    lock_report(report)
    if report.claimed_by_user_id is None:
        raise ActionError(_l("Hồ sơ này chưa có ai nhận xử lý."))
    check_claim(user, report)
    released = report.claimed_by_user_id
    report.claimed_by_user_id = None
    report.claimed_at = None
    _commit("release", user, report, released_user_id=released)


def reassign(user, report, officer: User | None) -> None:
    """A supervisor hands a report at the Front to another triage officer."""
    lock_report(report)
    if user.role not in SUPERVISING_ROLES:
        raise ActionError(_l("Chỉ lãnh đạo mới giao lại hồ sơ cho cán bộ khác."))
    if report.status not in status.WITH_FRONT:
        raise ActionError(_l("Chỉ giao được hồ sơ đang ở Mặt trận."))
    if officer is None or officer.role != "triage" or not officer.active:
        raise ActionError(_l("Vui lòng chọn một cán bộ phân loại đang làm việc."))
    previous = report.claimed_by_user_id
    if previous == officer.id:
        raise ActionError(_l("Hồ sơ đã do cán bộ này xử lý."))
    report.claimed_by_user_id = officer.id
    report.claimed_at = utcnow()
    _start_review(report, user)
    _commit("reassign", user, report, from_user_id=previous, to_user_id=officer.id)


# --- the receiving agency ----------------------------------------------------------------

def accept(user, report) -> None:
    """Thụ lý: the agency takes the case."""
    lock_report(report)
    _check_agency(user, report)
    _apply(report, "accept", actor=user, agency=report.current_agency)
    _commit("accept", user, report)


def return_not_competent(user, report, reason: str) -> None:
    """Send the case back to the Front because this agency is not competent."""
    reason = (reason or "").strip()
    if not reason:
        raise ActionError(_l("Vui lòng ghi lý do trả lại."))
    lock_report(report)
    _check_agency(user, report)
    agency = report.current_agency
    _apply(report, "return", actor=user, agency=agency, reason=reason)
    report.current_agency = None
    _commit("return", user, report, agency_id=agency.id if agency else None, reason=reason)


def resolve(user, report, *, result_text: str, outcome_code: str) -> None:
    """Record the result; the reporter sees the outcome and the text."""
    result_text = (result_text or "").strip()
    outcome = OUTCOMES.get(outcome_code)
    if not result_text:
        raise ActionError(_l("Vui lòng ghi kết quả giải quyết."))
    if outcome is None:
        raise ActionError(_l("Vui lòng chọn kết quả."))
    lock_report(report)
    _check_agency(user, report)
    if report.report_type and report.report_type not in outcome[1]:
        raise ActionError(_l("Kết quả này không phù hợp với loại đơn."))
    _apply(report, "resolve", actor=user, agency=report.current_agency)
    report.result_text = result_text
    report.outcome_code = outcome_code
    _commit("resolve", user, report, outcome=outcome_code)


def agency_may_see(user, report) -> bool:
    """An agency user sees only the cases currently with their agency."""
    return (
        user.role == "agency"
        and user.agency_id is not None
        and report.current_agency_id == user.agency_id
    )
