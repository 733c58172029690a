"""Staff work on a case: triage by the Front and handling by the receiving agency.

Each function validates, changes the report through the status machine, writes the audit
entry and commits, so a view only has to call one function and show its error.
"""

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, not_, or_, select

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
                crime_first=False):
    """Reports matching the filters, oldest first (the order the law's deadlines run).

    ``sector`` matches the staff-confirmed sector, or the classifier's while unconfirmed.
    ``crime_first`` puts reports with signs of a crime ahead ("không bỏ lọt tội phạm").
    """
    query = select(Report).outerjoin(Classification, Classification.report_id == Report.id)
    if statuses:
        query = query.where(Report.status.in_(statuses))
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
    body = (body or "").strip()
    if not body:
        raise ActionError(_l("Ghi chú trống."))
    report.notes.append(InternalNote(author_user_id=user.id, body=body))
    _commit("add_note", user, report)


def message_reporter(user, report, body: str) -> None:
    """Ask the reporter a question or tell them something (they read it with their code)."""
    body = (body or "").strip()
    if not body:
        raise ActionError(_l("Tin nhắn trống."))
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
    agency = report.current_agency
    _apply(report, "withdraw_transfer", actor=user, agency=agency, reason=reason)
    report.current_agency = None
    _commit("withdraw_transfer", user, report, reason=reason)


def mark_spam(user, report, reason: str) -> None:
    reason = (reason or "").strip()
    if not reason:
        raise ActionError(_l("Vui lòng ghi lý do đánh dấu tin rác."))
    _apply(report, "mark_spam", actor=user, reason=reason)
    _commit("mark_spam", user, report)


def restore(user, report) -> None:
    _apply(report, "restore", actor=user)
    _commit("restore", user, report)


def merge_duplicate(user, report, target_id: int | None) -> None:
    """Close ``report`` as a duplicate of another case; the reporter is told."""
    target = db.session.get(Report, target_id) if target_id else None
    if target is None or target.id == report.id:
        raise ActionError(_l("Không tìm thấy hồ sơ gốc để gộp."))
    if target.status in (status.SPAM, status.DUPLICATE):
        raise ActionError(_l("Không gộp vào một hồ sơ đã đóng là tin rác hoặc tin trùng."))
    _apply(report, "merge_duplicate", actor=user, reason=f"#{target.id}")
    report.duplicate_of_id = target.id
    _commit("merge_duplicate", user, report, target_id=target.id)


# --- the receiving agency ----------------------------------------------------------------

def accept(user, report) -> None:
    """Thụ lý: the agency takes the case."""
    _apply(report, "accept", actor=user, agency=report.current_agency)
    _commit("accept", user, report)


def return_not_competent(user, report, reason: str) -> None:
    """Send the case back to the Front because this agency is not competent."""
    reason = (reason or "").strip()
    if not reason:
        raise ActionError(_l("Vui lòng ghi lý do trả lại."))
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
