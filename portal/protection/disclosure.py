"""Disclosure of the reporter's identity (Luật Tố cáo 2018, Arts. 47–49).

Only a staff member with the ``custodian`` role opens an identity, and only through an audited
action: to read it (e.g. to contact the reporter the way they asked) or to give it to the
agency now handling the case. A disclosure needs the reporter's consent — given at filing or
later on the status page — or a recorded legal reason (e.g. the investigating agency's request
under BLTTHS Art. 145, a court's request). The reporter is told on their status page.

The disclosed identity is copied, encrypted under the report's content key, onto the identity
row (so the agency's page can show it without the custodian's key at hand); the copy goes when
the reporter withdraws the consent it rested on, or when retention deletes the identity.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from portal.audit import services as audit
from portal.extensions import db
from portal.protection.crypto import DecryptionFailed, KeyUnavailable
from portal.protection.envelope import open_identity
from portal.protection.models import DISCLOSURE_BASES, IdentityDisclosure
from portal.reports import status
from portal.timeutil import utcnow

CUSTODIAN = "custodian"

BASIS_LABELS = {
    "consent": _l("Người gửi đồng ý (Luật Tố cáo 2018, Điều 47)"),
    "investigation_bltths_145": _l("Cơ quan điều tra yêu cầu theo BLTTHS Điều 145"),
    "court": _l("Tòa án yêu cầu"),
    "other": _l("Khác (ghi rõ căn cứ pháp luật)"),
}
# How the reporter is told ("… đã được cung cấp cho <agency> theo …").
BASIS_FOR_REPORTER = {
    "consent": _l("sự đồng ý của bạn"),
    "investigation_bltths_145": _l(
        "yêu cầu của Cơ quan điều tra (Điều 145 Bộ luật Tố tụng hình sự)"),
    "court": _l("yêu cầu của Tòa án"),
    "other": _l("yêu cầu của cơ quan có thẩm quyền theo quy định của pháp luật"),
}
REASON_MAX = 2000


class DisclosureError(Exception):
    """A disclosure or consent change that cannot be done, with a message to show."""

    def __init__(self, message):
        super().__init__(str(message))
        self.message = str(message)


def _require_custodian(user) -> None:
    if getattr(user, "role", None) != CUSTODIAN:
        raise DisclosureError(_l("Chỉ người giữ danh tính được mở danh tính người gửi."))


def _open(report) -> dict:
    try:
        return open_identity(report.identity)
    except KeyUnavailable as exc:
        raise DisclosureError(_l(
            "Không mở được danh tính: khóa của người giữ danh tính không có trên máy chủ này."
        )) from exc
    except DecryptionFailed as exc:
        raise DisclosureError(_l("Không mở được danh tính: dữ liệu hoặc khóa không khớp.")) from exc


def view_identity(user, report) -> dict:
    """The identity fields for the custodian's own eyes; every call is audited."""
    _require_custodian(user)
    if report.identity is None:
        raise DisclosureError(_l("Hồ sơ này gửi ẩn danh."))
    values = _open(report)
    audit.record("view_identity", user=user, report=report)
    db.session.commit()
    return values


def active_disclosures(report, agency_id: int | None = None) -> list[IdentityDisclosure]:
    return [d for d in report.disclosures
            if d.active and (agency_id is None or d.agency_id == agency_id)]


def disclose(user, report, *, basis: str, reason: str | None) -> IdentityDisclosure:
    """Give the identity to the agency now handling the case, with consent or a legal reason."""
    _require_custodian(user)
    reason = (reason or "").strip()[:REASON_MAX] or None
    identity = report.identity
    agency = report.current_agency
    if identity is None:
        raise DisclosureError(_l("Hồ sơ này gửi ẩn danh: không có danh tính để cung cấp."))
    if agency is None:
        raise DisclosureError(_l(
            "Hồ sơ chưa ở cơ quan giải quyết nào: chỉ cung cấp danh tính cho cơ quan đang "
            "giải quyết."))
    if basis not in DISCLOSURE_BASES:
        raise DisclosureError(_l("Vui lòng chọn căn cứ cung cấp danh tính."))
    if basis == "consent" and not identity.disclosure_consent:
        raise DisclosureError(_l(
            "Người gửi chưa đồng ý cho cơ quan biết danh tính: cần một căn cứ pháp luật và lý do."
        ))
    if basis != "consent" and not reason:
        raise DisclosureError(_l(
            "Vui lòng ghi rõ văn bản yêu cầu (số, ngày, cơ quan) và lý do cung cấp danh tính."))
    if active_disclosures(report, agency.id):
        raise DisclosureError(_l("Danh tính đã được cung cấp cho cơ quan này."))
    identity.disclosed = _open(report)
    record = IdentityDisclosure(agency_id=agency.id, custodian_user_id=user.id, basis=basis)
    report.disclosures.append(record)
    record.reason = reason
    # The history event carries the basis code; the reporter is told in plain words
    # (portal/reports/reporter.py).
    status.record_event(report, "identity_disclosed", actor=user, agency=agency, reason=basis)
    db.session.flush()
    audit.record("disclose_identity", user=user, report=report, agency_id=agency.id,
                 basis=basis, disclosure_id=record.id)
    db.session.commit()
    return record


@dataclass
class Disclosed:
    """What the agency's case page shows: the record and the identity fields."""

    record: IdentityDisclosure
    identity: dict


def disclosed_to_agency(user, report) -> Disclosed | None:
    """The identity disclosed to ``user``'s agency for this case, or None. Showing it is
    audited."""
    if user.role != "agency" or report.identity is None or report.current_agency_id is None:
        return None
    if user.agency_id != report.current_agency_id:
        return None
    records = active_disclosures(report, user.agency_id)
    values = report.identity.disclosed
    if not records or not values:
        return None
    audit.record("view_disclosed_identity", user=user, report=report,
                 disclosure_id=records[-1].id)
    db.session.commit()
    return Disclosed(records[-1], values)


def set_consent(report, consent: bool) -> bool:
    """The reporter gives or withdraws consent to disclose their identity. Returns whether
    anything changed. Withdrawing ends the disclosures that rested on consent."""
    identity = report.identity
    if identity is None:
        raise DisclosureError(_l("Bạn đã gửi ẩn danh: không có danh tính để cung cấp."))
    if bool(identity.disclosure_consent) == consent:
        return False
    identity.disclosure_consent = consent
    revoked = 0
    if not consent:
        now = utcnow()
        for record in active_disclosures(report):
            if record.basis == "consent":
                record.revoked_at = now
                revoked += 1
        if not active_disclosures(report):
            identity.disclosed = None
    status.record_event(report, "consent_given" if consent else "consent_withdrawn")
    audit.record("reporter_consent", report=report, consent=consent,
                 disclosures_ended=revoked)
    db.session.commit()
    return True
