"""Tables of the protection area: the keyed search index and the record of identity
disclosures."""

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agencies.models import Agency
from portal.extensions import db
from portal.protection.envelope import Encrypted
from portal.timeutil import UTCDateTime, utcnow


class ReportSearchToken(db.Model):
    """One folded word of a report, as HMAC-SHA256(index key, word) truncated to 128 bits.

    The table holds no word in clear; without the index key a token cannot be checked against
    a guess.
    """

    __tablename__ = "report_search_tokens"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), primary_key=True)
    token: Mapped[str] = mapped_column(String(32), primary_key=True, index=True)

    report = relationship("Report", back_populates="search_tokens")


# Why the custodian may disclose (Luật Tố cáo 2018, Art. 47(1): only with the reporter's consent
# or as the law requires). Codes are stored; labels live in portal/labels.py.
DISCLOSURE_BASES = ("consent", "investigation_bltths_145", "court", "other")


class IdentityDisclosure(db.Model):
    """The custodian gave the reporter's identity to the agency handling the case."""

    __tablename__ = "identity_disclosures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    agency_id: Mapped[int] = mapped_column(ForeignKey("agencies.id"))
    custodian_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    basis: Mapped[str] = mapped_column(String(32))
    # The request's reference and reason, as the custodian recorded it.
    reason_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    reason = Encrypted("reason_encrypted", "disclosure.reason")
    # Set when a consent-based disclosure ends because the reporter withdrew consent.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    report = relationship("Report", back_populates="disclosures")
    agency: Mapped[Agency] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None
