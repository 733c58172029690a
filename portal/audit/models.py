"""Audit entries: who did what to which report, and when. Never client addresses.

The table is append-only and tamper-evident: each entry carries its position in the chain
(``seq``), the hash of the entry before it and its own SHA-256 hash over a canonical
serialisation (portal/audit/chain.py). ``flask --app portal audit verify`` walks the chain.
"""

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.timeutil import UTCDateTime, utcnow


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Null actor = the reporter or the system; we never record who the reporter is.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(64))
    report_id: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), index=True)
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    # The hash chain. ``seq`` counts from 1 without gaps; a unique index makes two writers
    # that somehow read the same head fail instead of forking the chain.
    seq: Mapped[int] = mapped_column(Integer, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    entry_hash: Mapped[str] = mapped_column(String(64))
