"""The classifier's verdict on a report, kept beside the staff-confirmed fields."""

from datetime import datetime

from sqlalchemy import Boolean, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.protection.envelope import Encrypted
from portal.timeutil import UTCDateTime, utcnow


class Classification(db.Model):
    __tablename__ = "classifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    model: Mapped[str] = mapped_column(String(128))
    sector: Mapped[str] = mapped_column(String(32), index=True)
    sector_score: Mapped[float] = mapped_column(Float)
    report_type: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str | None] = mapped_column(String(16))
    # Indexed: the triage queue puts reports with signs of a crime first.
    crime_flag: Mapped[bool] = mapped_column(Boolean, index=True)
    crime_score: Mapped[float] = mapped_column(Float)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    # The classifier's whole answer (ranked scores, articles with evidence spans, flags). It
    # quotes the report (evidence), so it is encrypted like the report text.
    result_encrypted: Mapped[bytes] = mapped_column(LargeBinary)
    result = Encrypted("result_encrypted", "classification.result", kind="json")

    report = relationship("Report", back_populates="classification")
