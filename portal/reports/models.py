"""Report data model.

The reporter's identity lives in its own table so that it can be withheld from agencies,
encrypted and purged without touching the case itself.

No free text is stored in clear: every column that holds what a person typed (or a file name)
is a ``…_encrypted`` LargeBinary, read and written through an
:class:`~portal.protection.envelope.Encrypted` attribute of the same name without the suffix
(``report.text``, ``message.body``…). The identity opens only with the custodian's key
(:func:`portal.protection.envelope.open_identity`).
"""

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from classifier.taxonomy import FLAGS, REPORT_TYPES, SECTORS, SUBJECTS
from portal.agencies.models import Agency
from portal.extensions import db
from portal.protection.envelope import Encrypted
from portal.timeutil import UTCDateTime, utcnow

# The taxonomy's codes (SECTORS, REPORT_TYPES, SUBJECTS, FLAGS) come from the classifier so
# both sides use one list, the contract of shared/spec/taxonomy.md.
REPORTER_ROLES = ("citizen", "journalist", "organisation")
CONTACT_PREFERENCES = ("none", "phone", "email")


class Report(db.Model):
    __tablename__ = "reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Only a keyed hash of the receipt code is stored; the index makes lookup a single hit.
    receipt_code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    channel: Mapped[str] = mapped_column(String(8), default="web")
    language: Mapped[str] = mapped_column(String(2), default="vi")

    reporter_role: Mapped[str] = mapped_column(String(16), default="citizen")
    # Journalist's outlet or organisation's name, when the reporter gave one.
    affiliation_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    reporter_affiliation = Encrypted("affiliation_encrypted", "report.affiliation")
    # What the reporter chose; ``report_type`` is what staff confirmed (starts equal).
    reported_type: Mapped[str | None] = mapped_column(String(16))
    report_type: Mapped[str | None] = mapped_column(String(16), index=True)
    sector: Mapped[str | None] = mapped_column(String(32), index=True)
    subject: Mapped[str | None] = mapped_column(String(16))
    flags: Mapped[list] = mapped_column(JSON, default=list)
    # Staff's answer to "signs of a crime?" (None until triage decides).
    crime_confirmed: Mapped[bool | None] = mapped_column(Boolean)

    # The report's content data key, wrapped with the server's content key ``content_key_id``
    # (portal/protection/envelope.py). Everything below marked Encrypted opens with it.
    content_key_wrapped: Mapped[bytes] = mapped_column(LargeBinary)
    content_key_id: Mapped[str] = mapped_column(String(16), index=True)
    text_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    text = Encrypted("text_encrypted", "report.text")
    involved_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    involved = Encrypted("involved_encrypted", "report.involved")
    # Masks for the agency's copy (portal/protection/redaction.py): the reporter's own identity
    # found at filing, and the spans staff confirmed.
    redaction_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    redaction = Encrypted("redaction_encrypted", "report.redaction", kind="json")
    province_code: Mapped[int | None] = mapped_column(Integer, index=True)
    ward_code: Mapped[int | None] = mapped_column(Integer, index=True)
    occurred_on: Mapped[date | None] = mapped_column(Date)
    anonymous: Mapped[bool] = mapped_column(Boolean, default=True)

    current_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    # The Front officer handling the report while it is with the Front ("Nhận xử lý"); cleared
    # when it leaves the Front (portal/reports/status.py) or is released. One at a time.
    claimed_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"))
    result_text_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    result_text = Encrypted("result_text_encrypted", "report.result_text")
    outcome_code: Mapped[str | None] = mapped_column(String(32))

    current_agency: Mapped[Agency | None] = relationship()
    claimed_by = relationship("User", foreign_keys=[claimed_by_user_id])
    identity: Mapped["ReporterIdentity | None"] = relationship(
        back_populates="report", cascade="all, delete-orphan", uselist=False
    )
    events: Mapped[list["ReportEvent"]] = relationship(
        back_populates="report", order_by="ReportEvent.id", cascade="all, delete-orphan"
    )
    messages: Mapped[list["Message"]] = relationship(
        back_populates="report", order_by="Message.id", cascade="all, delete-orphan"
    )
    attachments: Mapped[list["Attachment"]] = relationship(
        back_populates="report", order_by="Attachment.id", cascade="all, delete-orphan"
    )
    notes: Mapped[list["InternalNote"]] = relationship(
        back_populates="report", order_by="InternalNote.id", cascade="all, delete-orphan"
    )
    classification = relationship(
        "Classification", back_populates="report", uselist=False, cascade="all, delete-orphan"
    )
    # Keyed tokens of the folded words of text and involved (portal/protection/search.py).
    search_tokens = relationship(
        "ReportSearchToken", back_populates="report", cascade="all, delete-orphan"
    )
    disclosures = relationship(
        "IdentityDisclosure", back_populates="report", order_by="IdentityDisclosure.id",
        cascade="all, delete-orphan",
    )

    @property
    def case_number(self) -> str:
        """Internal case number shown to staff (never the receipt code)."""
        return f"{self.created_at.year}-{self.id:06d}"


class ReporterIdentity(db.Model):
    """Who filed a named report, with their choices about disclosure and contact."""

    __tablename__ = "reporter_identities"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), primary_key=True)
    # Name, phone, e-mail, address and ID number (JSON) encrypted with the identity data key,
    # which is sealed to the custodian's public key ``custodian_key_id``. Only the custodian's
    # private key, kept outside the database, opens it (portal/protection/envelope.py).
    identity_key_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    custodian_key_id: Mapped[str] = mapped_column(String(16), index=True)
    fields_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    # A copy for the agency the custodian disclosed the identity to, under the report's content
    # key; present only while a disclosure is in force (portal/protection/disclosure.py).
    disclosed_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    disclosed = Encrypted("disclosed_encrypted", "identity.disclosed", kind="json")
    # Luật Tố cáo 2018, Art. 47: identity is confidential unless the reporter consents.
    disclosure_consent: Mapped[bool] = mapped_column(Boolean, default=False)
    contact_preference: Mapped[str] = mapped_column(String(8), default="none")

    report: Mapped[Report] = relationship(back_populates="identity")


class ReportEvent(db.Model):
    """One step in a report's history; the status page shows the public ones."""

    __tablename__ = "report_events"
    # The supervision figures (portal/supervision/stats.py) read history events of some kinds
    # in a period, per case in order (window functions), or those of one agency.
    __table_args__ = (
        Index("ix_report_events_kind_created_at", "kind", "created_at"),
        Index("ix_report_events_report_id_id", "report_id", "id"),
        Index("ix_report_events_agency_id_kind_created_at", "agency_id", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    status_after: Mapped[str] = mapped_column(String(16))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    # Internal reason (transfer, return, override); never shown to the reporter.
    reason: Mapped[str | None] = mapped_column(Text)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Transfers only (portal/routing): the rule that suggested an agency, the agency it
    # suggested, and the officer's reason when they chose another one.
    routing_rule: Mapped[str | None] = mapped_column(String(32))
    suggested_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    override_reason: Mapped[str | None] = mapped_column(Text)

    report: Mapped[Report] = relationship(back_populates="events")
    agency: Mapped[Agency | None] = relationship(foreign_keys=[agency_id])


class Message(db.Model):
    """A message between staff and the reporter."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    from_reporter: Mapped[bool] = mapped_column(Boolean)
    body_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    body = Encrypted("body_encrypted", "message.body")
    # Spans of the body that match the reporter's own identity, found when it was written
    # (always masked for agencies; portal/protection/redaction.py).
    masks_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    identity_masks = Encrypted("masks_encrypted", "message.masks", kind="json")
    # Staff messages: the agency that wrote it (null = the Front). The reporter sees the body,
    # never a staff member's name.
    sender_agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"))
    author_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    report: Mapped[Report] = relationship(back_populates="messages")
    sender_agency: Mapped[Agency | None] = relationship()
    attachments: Mapped[list["Attachment"]] = relationship(back_populates="message")


class Attachment(db.Model):
    """A file the reporter sent, stored under a random name outside the web root."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The file on disk is encrypted with the report's content data key.
    stored_name: Mapped[str] = mapped_column(String(64), unique=True)
    original_name_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    original_name = Encrypted("original_name_encrypted", "attachment.name")
    content_type: Mapped[str] = mapped_column(String(128))
    size_bytes: Mapped[int] = mapped_column(Integer)
    # HMAC-SHA256 of the content under the report's data key, not a plain hash: a plain one
    # would let anyone with a copy of a document check that it was sent here.
    sha256: Mapped[str] = mapped_column(String(64))

    report: Mapped[Report] = relationship(back_populates="attachments")
    message: Mapped[Message | None] = relationship(back_populates="attachments")


class InternalNote(db.Model):
    """Staff-only note on a case."""

    __tablename__ = "internal_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    body_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    body = Encrypted("body_encrypted", "note.body")

    report: Mapped[Report] = relationship(back_populates="notes")
