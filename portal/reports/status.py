"""The report's status machine: the only place that changes ``Report.status``.

Every change goes through :func:`apply`, which refuses an illegal transition with a message
the staff member can read, and appends the matching history event.
"""

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

RECEIVED = "received"
IN_REVIEW = "in_review"
TRANSFERRED = "transferred"
ACCEPTED = "accepted"
RETURNED = "returned"
RESOLVED = "resolved"
SPAM = "spam"
DUPLICATE = "duplicate"

STATUSES = (RECEIVED, IN_REVIEW, TRANSFERRED, ACCEPTED, RETURNED, RESOLVED, SPAM, DUPLICATE)

# Statuses in which the Front still holds the report (the triage queue).
WITH_FRONT = (RECEIVED, IN_REVIEW, RETURNED)


@dataclass(frozen=True)
class Action:
    """A named step: which statuses it may start from and where it leads."""

    name: str
    sources: tuple[str, ...]
    target: str


ACTIONS = {
    a.name: a
    for a in (
        Action("start_review", (RECEIVED, RETURNED), IN_REVIEW),
        Action("transfer", WITH_FRONT, TRANSFERRED),
        # A transfer is withdrawn only before the agency accepts it.
        Action("withdraw_transfer", (TRANSFERRED,), IN_REVIEW),
        Action("accept", (TRANSFERRED,), ACCEPTED),
        # An agency may find it is not competent before or after accepting (Luật Tố cáo 2018,
        # Art. 24: transfer within 5 working days) — the report goes back to the Front.
        Action("return", (TRANSFERRED, ACCEPTED), RETURNED),
        Action("resolve", (ACCEPTED,), RESOLVED),
        Action("mark_spam", WITH_FRONT, SPAM),
        Action("restore", (SPAM,), IN_REVIEW),
        Action("merge_duplicate", WITH_FRONT, DUPLICATE),
    )
}

STATUS_LABELS = {
    RECEIVED: _l("Đã tiếp nhận"),
    IN_REVIEW: _l("Đang kiểm tra, phân loại"),
    TRANSFERRED: _l("Đã chuyển đến cơ quan có thẩm quyền"),
    ACCEPTED: _l("Cơ quan có thẩm quyền đã thụ lý"),
    RETURNED: _l("Đang xem xét chuyển lại"),
    RESOLVED: _l("Đã có kết quả giải quyết"),
    SPAM: _l("Đã đóng"),
    DUPLICATE: _l("Được giải quyết cùng tin khác"),
}

ACTION_LABELS = {
    "start_review": _l("bắt đầu kiểm tra"),
    "transfer": _l("chuyển đến cơ quan"),
    "withdraw_transfer": _l("rút lại việc chuyển"),
    "accept": _l("thụ lý"),
    "return": _l("trả lại vì không đúng thẩm quyền"),
    "resolve": _l("ghi nhận kết quả"),
    "mark_spam": _l("đánh dấu tin rác"),
    "restore": _l("khôi phục"),
    "merge_duplicate": _l("gộp vào tin trùng"),
}


# Staff-facing names of every history event.
EVENT_LABELS = {
    **ACTION_LABELS,
    "filed": _l("tiếp nhận"),
    "info_requested": _l("nhắn tin cho người gửi"),
    "reporter_replied": _l("người gửi trả lời, bổ sung"),
    "identity_disclosed": _l("cung cấp danh tính người gửi cho cơ quan"),
    "consent_given": _l("người gửi đồng ý cung cấp danh tính"),
    "consent_withdrawn": _l("người gửi rút lại sự đồng ý cung cấp danh tính"),
    "deadline_extended": _l("gia hạn thời hạn"),
}


class IllegalTransition(Exception):
    """Raised when an action is not allowed from the report's current status."""

    def __init__(self, action: str, status: str):
        self.action = action
        self.status = status
        super().__init__(f"{action} not allowed from {status}")

    @property
    def message(self) -> str:
        return str(
            _l(
                "Không thể %(action)s khi hồ sơ đang ở trạng thái “%(status)s”.",
                action=ACTION_LABELS.get(self.action, self.action),
                status=STATUS_LABELS.get(self.status, self.status),
            )
        )


def can(action: str, status: str) -> bool:
    """Whether ``action`` may be taken on a report in ``status``."""
    spec = ACTIONS[action]
    return status in spec.sources


def apply(report, action: str, *, actor=None, agency=None, reason=None):
    """Move ``report`` by ``action`` and append the history event; returns the event.

    The caller commits. Raises :class:`IllegalTransition` and changes nothing when the
    action is not allowed from the current status.
    """
    from portal.reports.models import ReportEvent

    spec = ACTIONS[action]
    if report.status not in spec.sources:
        raise IllegalTransition(action, report.status)
    report.status = spec.target
    if spec.target not in WITH_FRONT:
        # A Front officer's claim ("Nhận xử lý") lasts only while the Front holds the report:
        # once it is with an agency or closed, nobody at the Front is handling it.
        report.claimed_by_user_id = None
        report.claimed_at = None
    event = ReportEvent(
        kind=action,
        status_after=spec.target,
        agency=agency,
        reason=reason,
        actor_user_id=getattr(actor, "id", None),
    )
    report.events.append(event)
    return event


def record_event(report, kind: str, *, actor=None, agency=None, reason=None):
    """Append a history event that does not change the status (e.g. filed, info requested)."""
    from portal.reports.models import ReportEvent

    event = ReportEvent(
        kind=kind,
        status_after=report.status,
        agency=agency,
        reason=reason,
        actor_user_id=getattr(actor, "id", None),
    )
    report.events.append(event)
    return event
