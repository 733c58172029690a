"""Filing a report: one validation for the web form and the JSON API, then one transaction.

Nothing is stored unless everything is valid; if anything fails on the way (a file cannot be
written because the disk is full, the database is down or refuses the commit), the files
already written are deleted again and the transaction is rolled back: no half-stored report,
and no receipt code for a report that was not kept (docs/production.md "Faults").
"""

import errno
import logging
import re
from dataclasses import dataclass, field
from datetime import date

from flask_babel import lazy_gettext as _l

from portal import geo
from portal.attachments import IncomingFile, LocalFileStorage
from portal.classification import jobs as classification_jobs
from portal.deadlines import services as deadlines
from portal.extensions import db
from portal.protection import agency_copy, envelope, search
from portal.receipts import code_hash, new_code
from portal.reports import rows, status
from portal.reports.models import (
    CONTACT_PREFERENCES,
    REPORT_TYPES,
    REPORTER_ROLES,
    Attachment,
    Report,
    ReporterIdentity,
)
from portal.supervision import facts
from portal.timeutil import today_vn

log = logging.getLogger(__name__)

PHONE_RE = re.compile(r"^(\+84|84|0)\d{8,10}$")
EMAIL_RE = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")
ID_NUMBER_RE = re.compile(r"^(\d{9}|\d{12})$")
IDENTITY_FIELDS = ("name", "phone", "email", "address", "id_number")
IDENTITY_LIMITS = {"name": 255, "phone": 32, "email": 255, "address": 500, "id_number": 32}


@dataclass
class Identity:
    name: str | None = None
    phone: str | None = None
    email: str | None = None
    address: str | None = None
    id_number: str | None = None
    disclosure_consent: bool = False
    contact_preference: str = "none"


@dataclass
class Submission:
    """A validated report, ready to store."""

    text: str
    report_type: str | None = None
    reporter_role: str = "citizen"
    affiliation: str | None = None
    province_code: int | None = None
    ward_code: int | None = None
    occurred_on: date | None = None
    involved: str | None = None
    identity: Identity | None = None
    files: list[IncomingFile] = field(default_factory=list)
    channel: str = "web"
    language: str = "vi"


class ValidationError(Exception):
    """Field errors for the reporter, keyed by field name."""

    def __init__(self, fields: dict):
        super().__init__("invalid submission")
        self.fields = fields


class AttachmentNotStored(Exception):
    """An attachment could not be written to the server's disk (nothing of the filing was
    kept). ``disk_full`` tells a full disk or quota from other write errors."""

    def __init__(self, error_number: int | None):
        super().__init__(errno.errorcode.get(error_number or 0, "write failed"))
        self.disk_full = error_number in (errno.ENOSPC, errno.EDQUOT)


def _text(value) -> str:
    """A trimmed string; non-strings (JSON numbers, lists) are treated as invalid later."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError
    return value.strip()


def check_text(value, *, min_chars: int, max_chars: int, required: bool = True):
    """Common checks for free text: present, not too long, valid Unicode. Returns (text, error)."""
    try:
        text = _text(value)
    except TypeError:
        return None, _l("Giá trị không hợp lệ.")
    # Werkzeug replaces undecodable bytes with U+FFFD; such text was not valid UTF-8.
    if "\ufffd" in text or "\x00" in text:
        return None, _l("Nội dung có ký tự không đọc được. Vui lòng gõ lại hoặc dán lại.")
    if not text:
        return None, (_l("Vui lòng nhập nội dung.") if required else None)
    if len(text) < min_chars:
        return None, _l("Nội dung quá ngắn: cần ít nhất %(n)d ký tự.", n=min_chars)
    if len(text) > max_chars:
        return None, _l(
            "Nội dung quá dài: tối đa %(n)d ký tự (hiện có %(have)d).", n=max_chars, have=len(text)
        )
    return text, None


def _int_code(value):
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        raise ValueError
    return int(value)


def validate(data: dict, files: list[IncomingFile], config, *, require_identity=False) -> Submission:
    """Check raw input (strings from a form or values from JSON); raise ValidationError.

    ``require_identity`` is set when the reporter chose named filing: then a name is required.
    """
    errors: dict[str, str] = {}
    text, error = check_text(
        data.get("text"),
        min_chars=config["REPORT_TEXT_MIN_CHARS"],
        max_chars=config["REPORT_TEXT_MAX_CHARS"],
    )
    if error:
        errors["text"] = error

    report_type = data.get("report_type") or None
    if report_type is not None and report_type not in REPORT_TYPES:
        errors["report_type"] = _l("Loại đơn không hợp lệ.")

    role = data.get("reporter_role") or "citizen"
    if role not in REPORTER_ROLES:
        errors["reporter_role"] = _l("Vui lòng chọn bạn là ai.")
    affiliation, error = check_text(
        data.get("affiliation"), min_chars=1, max_chars=255, required=False
    )
    if error:
        errors["affiliation"] = error

    province_code = ward_code = None
    try:
        province_code = _int_code(data.get("province_code"))
        if province_code is not None and geo.province_name(province_code) is None:
            errors["province_code"] = _l("Tỉnh, thành phố không có trong danh mục.")
    except (TypeError, ValueError):
        errors["province_code"] = _l("Tỉnh, thành phố không có trong danh mục.")
    try:
        ward_code = _int_code(data.get("ward_code"))
        if ward_code is not None:
            ward_province = geo.ward_province(ward_code)
            if ward_province is None:
                errors["ward_code"] = _l("Xã, phường không có trong danh mục.")
            elif province_code is None:
                province_code = ward_province
            elif ward_province != province_code:
                errors["ward_code"] = _l("Xã, phường này không thuộc tỉnh, thành phố đã chọn.")
    except (TypeError, ValueError):
        errors["ward_code"] = _l("Xã, phường không có trong danh mục.")

    occurred_on = None
    raw_date = data.get("occurred_on")
    if raw_date not in (None, ""):
        try:
            occurred_on = date.fromisoformat(str(raw_date))
            if occurred_on > today_vn():
                errors["occurred_on"] = _l("Ngày xảy ra không thể ở tương lai.")
            elif occurred_on.year < 1945:
                errors["occurred_on"] = _l("Ngày xảy ra không hợp lệ.")
        except ValueError:
            errors["occurred_on"] = _l("Ngày không hợp lệ (định dạng năm-tháng-ngày).")

    involved, error = check_text(
        data.get("involved"), min_chars=1, max_chars=2000, required=False
    )
    if error:
        errors["involved"] = error

    identity = None
    raw_identity = data.get("identity")
    if raw_identity:
        if not isinstance(raw_identity, dict):
            errors["identity"] = _l("Thông tin cá nhân không hợp lệ.")
        else:
            identity = _validate_identity(raw_identity, errors)
    if require_identity and identity is None:
        errors["identity.name"] = _l("Nếu gửi có danh tính, vui lòng ghi họ và tên.")

    if errors:
        raise ValidationError(errors)
    return Submission(
        text=text,
        report_type=report_type,
        reporter_role=role,
        affiliation=affiliation if role != "citizen" else None,
        province_code=province_code,
        ward_code=ward_code,
        occurred_on=occurred_on,
        involved=involved,
        identity=identity,
        files=files,
    )


def _validate_identity(raw: dict, errors: dict) -> Identity | None:
    values = {}
    for name in IDENTITY_FIELDS:
        value, error = check_text(
            raw.get(name), min_chars=1, max_chars=IDENTITY_LIMITS[name], required=False
        )
        if error:
            errors[f"identity.{name}"] = error
        values[name] = value
    if not any(values.values()):
        return None
    if not values["name"]:
        errors["identity.name"] = _l("Nếu gửi có danh tính, vui lòng ghi họ và tên.")
    if values["phone"]:
        values["phone"] = re.sub(r"[\s.\-()]", "", values["phone"])
        if not PHONE_RE.match(values["phone"]):
            errors["identity.phone"] = _l("Số điện thoại không hợp lệ (ví dụ 0912345678).")
    if values["email"] and not EMAIL_RE.match(values["email"]):
        errors["identity.email"] = _l("Địa chỉ thư điện tử không hợp lệ.")
    if values["id_number"] and not ID_NUMBER_RE.match(values["id_number"]):
        errors["identity.id_number"] = _l("Số định danh cá nhân/CCCD gồm 12 chữ số (CMND cũ: 9).")
    contact = raw.get("contact_preference") or "none"
    if contact not in CONTACT_PREFERENCES:
        errors["identity.contact_preference"] = _l("Cách liên hệ không hợp lệ.")
    elif contact == "phone" and not values["phone"]:
        errors["identity.phone"] = _l("Bạn chọn liên hệ qua điện thoại: vui lòng ghi số.")
    elif contact == "email" and not values["email"]:
        errors["identity.email"] = _l("Bạn chọn liên hệ qua thư điện tử: vui lòng ghi địa chỉ.")
    consent = raw.get("disclosure_consent") in (True, "y", "yes", "on", "1", "true")
    return Identity(**values, disclosure_consent=consent, contact_preference=contact)


def file_report(submission: Submission, *, secret_key: str, storage: LocalFileStorage):
    """Store a validated submission; return ``(report, receipt_code)``.

    The receipt code is returned once and never stored in clear. Text, identity and files are
    encrypted before anything is written (portal/protection/envelope.py); the search index gets
    keyed tokens, and the places where the reporter's own identity appears in the text are
    noted for the agency's masked copy.
    """
    code = new_code()
    stored: list[str] = []
    try:
        report = Report(
            receipt_code_hash=code_hash(code, secret_key),
            status=status.RECEIVED,
            channel=submission.channel,
            language=submission.language,
            reporter_role=submission.reporter_role,
            reporter_affiliation=submission.affiliation,
            reported_type=submission.report_type,
            report_type=submission.report_type,
            text=submission.text,
            involved=submission.involved,
            province_code=submission.province_code,
            ward_code=submission.ward_code,
            occurred_on=submission.occurred_on,
            anonymous=submission.identity is None,
            flags=[],
        )
        identity_values = None
        if submission.identity is not None:
            identity = submission.identity
            identity_values = {name: getattr(identity, name) for name in IDENTITY_FIELDS}
            report.identity = ReporterIdentity(
                disclosure_consent=identity.disclosure_consent,
                contact_preference=identity.contact_preference,
            )
            envelope.seal_identity(report.identity, identity_values)
        agency_copy.record_identity_masks(report, identity_values)
        for incoming in submission.files:
            report.attachments.append(store_attachment(report, incoming, storage, stored))
        status.record_event(report, "filed")
        deadlines.follow(report, "filed")  # the Front's own time limit starts now
        # Plain INSERTs rather than the session's flush (portal/reports/rows.py says why);
        # then what the flush's hooks would have written: the supervision facts.
        events, started = list(report.events), list(report.deadlines)
        rows.insert_new([report, *([report.identity] if report.identity else []),
                         *events, *report.attachments, *started])
        facts.follow_new_report(db.session.connection(), report, events, started)
        # In the same transaction: a report is never stored without its jobs (portal/jobs,
        # docs/jobs.md), which run after the commit: its classification, its word index.
        classification_jobs.queue_classification(report)
        search.queue_indexing(report)
        written = rows.loaded_columns(report)
        db.session.commit()
        # The commit expired the report; its columns are what was just written, so the
        # caller's next read (the status, the time for the receipt) needs no SELECT.
        rows.keep_loaded(report, written)
    except BaseException:
        discard(stored, storage)
        raise
    return report, code


def discard(stored: list[str], storage: LocalFileStorage) -> None:
    """Undo a filing that failed: delete the files it wrote, roll back its rows.

    Files first: when the database is down, even the rollback may fail, and a file must not
    outlive the report it belonged to."""
    for name in stored:
        try:
            storage.delete(name)
        except OSError as exc:
            log.error("could not delete an attachment of a failed filing: %s",
                      errno.errorcode.get(exc.errno or 0, "error"))
    try:
        db.session.rollback()
    except Exception as exc:  # the connection is gone; the server discards the transaction
        log.warning("rollback after a failed filing failed: %s", type(exc).__name__)


def store_attachment(report, incoming: IncomingFile, storage: LocalFileStorage,
                     stored: list[str]) -> Attachment:
    """Write ``incoming`` encrypted with the report's data key and return its row (not yet
    added to the report). The stored name is appended to ``stored`` so that the caller can
    delete the file again if the database write fails. A failed write (disk full…) raises
    :class:`AttachmentNotStored`."""
    try:
        stored_name = storage.save(envelope.encrypt_file(report, incoming.data))
    except OSError as exc:
        raise AttachmentNotStored(exc.errno) from exc
    stored.append(stored_name)
    return attachment_row(report, incoming, stored_name)


def attachment_row(report, incoming: IncomingFile, stored_name: str) -> Attachment:
    """The database row for a file already written under ``stored_name``."""
    attachment = Attachment(
        stored_name=stored_name,
        content_type=incoming.content_type,
        size_bytes=len(incoming.data),
        sha256=envelope.file_digest(report, incoming.data),
    )
    # Encrypted before the flush, once the row belongs to its report.
    attachment.original_name = incoming.original_name
    return attachment
