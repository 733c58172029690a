"""What the reporter can do with a receipt code: look up the case and exchange messages.

The reporter sees status changes in plain words and the messages addressed to them; never
staff names, internal notes or reasons.
"""

import hmac

from flask_babel import gettext as _
from sqlalchemy import select

from portal.attachments import IncomingFile, LocalFileStorage
from portal.audit import services as audit
from portal.extensions import db
from portal.labels import OUTCOMES
from portal.protection import agency_copy
from portal.protection.disclosure import BASIS_FOR_REPORTER
from portal.receipts import code_hash, new_code
from portal.reports import status
from portal.reports.intake import discard, store_attachment
from portal.reports.models import Message, Report
from portal.timeutil import format_date_vn

# History events the reporter is told about (routing.md: each status change).
PUBLIC_EVENTS = (
    "filed",
    "start_review",
    "transfer",
    "withdraw_transfer",
    "accept",
    "return",
    "resolve",
    "merge_duplicate",
    # Luật Tố cáo 2018, Art. 47: the reporter is told when their identity is disclosed.
    "identity_disclosed",
    "consent_given",
    "consent_withdrawn",
    # routing.md: the reporter is told of an extension too (the new date, never the reason).
    "deadline_extended",
)


def find_by_code(code: str, secret_key: str) -> Report | None:
    """The report a receipt code opens, or None. Malformed and unknown codes look the same."""
    wanted = code_hash(code, secret_key)
    if wanted is None:
        return None
    report = db.session.scalar(select(Report).where(Report.receipt_code_hash == wanted))
    # The index lookup already matched; comparing again in constant time keeps the check
    # independent of how the database compares strings.
    if report is None or not hmac.compare_digest(report.receipt_code_hash, wanted):
        return None
    return report


def find_by_hash(receipt_code_hash: str) -> Report | None:
    """The report whose stored code hash this is (kept in the reporter's session)."""
    return db.session.scalar(
        select(Report).where(Report.receipt_code_hash == receipt_code_hash)
    )


def event_text(event) -> str:
    """One history line in plain words."""
    agency = event.agency.name if event.agency else _("cơ quan có thẩm quyền")
    texts = {
        "filed": lambda: _("Đã tiếp nhận tin của bạn."),
        "start_review": lambda: _("Mặt trận Tổ quốc đang kiểm tra, phân loại."),
        "transfer": lambda: _("Đã chuyển đến %(agency)s.", agency=agency),
        "withdraw_transfer": lambda: _("Mặt trận rút lại việc chuyển để xem xét lại."),
        "accept": lambda: _("%(agency)s đã thụ lý (nhận giải quyết).", agency=agency),
        "return": lambda: _(
            "%(agency)s trả lại vì không thuộc thẩm quyền; Mặt trận đang xem xét chuyển đúng "
            "nơi.",
            agency=agency,
        ),
        "resolve": lambda: _("%(agency)s đã có kết quả giải quyết.", agency=agency),
        "merge_duplicate": lambda: _(
            "Tin của bạn được giải quyết cùng một tin khác có cùng nội dung."
        ),
        "identity_disclosed": lambda: _(
            "Danh tính của bạn đã được cung cấp cho %(agency)s theo %(basis)s.",
            agency=agency,
            basis=str(BASIS_FOR_REPORTER.get(event.reason, BASIS_FOR_REPORTER["other"])),
        ),
        "consent_given": lambda: _(
            "Bạn đã đồng ý để cơ quan giải quyết biết danh tính của bạn khi cần xác minh."
        ),
        "consent_withdrawn": lambda: _("Bạn đã rút lại sự đồng ý cung cấp danh tính."),
        "deadline_extended": lambda: extension_text(event, agency),
    }
    return texts[event.kind]()


def extension_text(event, agency: str) -> str:
    """An extension in plain words: which time limit and the new date, as the law allows."""
    from portal.deadlines.services import extension_for_event

    extension = extension_for_event(event)
    if extension is None:
        return _("%(agency)s đã gia hạn thời hạn theo quy định của pháp luật.", agency=agency)
    if extension.deadline.stage == "accept":
        return _("%(agency)s đã gia hạn thời hạn thụ lý đến hết ngày %(date)s, theo quy định "
                 "của pháp luật.", agency=agency, date=format_date_vn(extension.due_after))
    return _("%(agency)s đã gia hạn thời hạn giải quyết đến hết ngày %(date)s, theo quy định "
             "của pháp luật.", agency=agency, date=format_date_vn(extension.due_after))


def public_status_label(report: Report) -> str:
    """The current status in plain words (spam is shown as simply received)."""
    current = status.RECEIVED if report.status == status.SPAM else report.status
    label = str(status.STATUS_LABELS[current])
    if current in (status.TRANSFERRED, status.ACCEPTED) and report.current_agency:
        label = f"{label}: {report.current_agency.name}"
    return label


def public_view(report: Report) -> dict:
    """Everything the status page and the API show the reporter, as plain data."""
    history = [
        {
            "at": event.created_at,
            "status": event.status_after if event.status_after != status.SPAM else status.RECEIVED,
            "text": event_text(event),
        }
        for event in report.events
        if event.kind in PUBLIC_EVENTS
    ]
    messages = [
        {
            "at": message.created_at,
            "from": "reporter" if message.from_reporter else "staff",
            "sender": (
                _("Bạn")
                if message.from_reporter
                else (message.sender_agency.name if message.sender_agency else _("Mặt trận Tổ quốc"))
            ),
            "body": message.body,
            "attachments": len(message.attachments),
        }
        for message in report.messages
    ]
    result = None
    if report.status == status.RESOLVED:
        outcome = OUTCOMES.get(report.outcome_code)
        result = {
            "outcome": report.outcome_code,
            "outcome_label": str(outcome[0]) if outcome else "",
            "text": report.result_text,
        }
    return {
        "status": status.RECEIVED if report.status == status.SPAM else report.status,
        "status_label": public_status_label(report),
        "history": history,
        "messages": messages,
        "result": result,
    }


def add_reporter_message(
    report: Report, text: str, files: list[IncomingFile], storage: LocalFileStorage
) -> Message:
    """Store a message (and files) from the reporter; files are removed again on failure."""
    stored: list[str] = []
    try:
        message = Message(from_reporter=True, body=text)
        report.messages.append(message)
        # Where the reporter's own identity appears in the message: always masked for agencies.
        agency_copy.mask_message(report, message)
        for incoming in files:
            attachment = store_attachment(report, incoming, storage, stored)
            report.attachments.append(attachment)
            message.attachments.append(attachment)
        status.record_event(report, "reporter_replied")
        audit.record("reporter_message", report=report)
        db.session.commit()
    except BaseException:
        discard(stored, storage)
        raise
    return message


def rotate_code(report: Report, secret_key: str, *, channel: str) -> str:
    """Give the case a new receipt code and return it (shown once); the old one stops working
    at once, in every browser and API client that held it.

    Audited without anything about who asked: no user, no address, only the channel.
    """
    code = new_code()
    report.receipt_code_hash = code_hash(code, secret_key)
    audit.record("rotate_receipt_code", report=report, channel=channel)
    db.session.commit()
    return code
