"""Legal deadlines of a report, their extensions, the reminders sent, and calendar adjustments."""

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, backref, mapped_column, relationship

from portal.extensions import db
from portal.timeutil import UTCDateTime, utcnow


class Deadline(db.Model):
    """One stage of a report with a legal time limit (routing.md, "Deadlines").

    Opened when the stage's start event happens and closed when the report leaves the stage;
    ``due_at`` is recomputed from ``started_at``, the rule and the extensions, so a change to
    the working-day calendar moves it too.
    """

    __tablename__ = "report_deadlines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    # The type the rule was chosen for (the report's type, or crime_report once staff confirmed
    # signs of a crime) and the stage code of portal/deadlines/deadlines.yaml.
    report_type: Mapped[str] = mapped_column(String(16))
    stage: Mapped[str] = mapped_column(String(32))
    # Who must act: "front" (the Front's triage staff) or "agency" (the agency holding it).
    party: Mapped[str] = mapped_column(String(8))
    # The history event that started the stage (filing, transfer, acceptance…).
    start_event_id: Mapped[int | None] = mapped_column(ForeignKey("report_events.id"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The rule in force on the start date: length, unit and legal basis, kept with the row so
    # the case shows what was applied even after the rules file changes.
    length: Mapped[int] = mapped_column(Integer)
    unit: Mapped[str] = mapped_column(String(16))
    basis: Mapped[str] = mapped_column(String(255))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    # The action that ended the stage (transfer, accept, resolve, return…).
    closed_by: Mapped[str | None] = mapped_column(String(32))

    # A backref, so the report model needs no import of this area.
    report = relationship(
        "Report",
        backref=backref("deadlines", order_by="Deadline.id", cascade="all, delete-orphan"),
    )
    start_event = relationship("ReportEvent")
    extensions: Mapped[list["DeadlineExtension"]] = relationship(
        back_populates="deadline", order_by="DeadlineExtension.id", cascade="all, delete-orphan"
    )

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class DeadlineExtension(db.Model):
    """A lawful extension of a deadline: the ground, the staff member's reason, who and when."""

    __tablename__ = "deadline_extensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("report_deadlines.id"), index=True)
    # The "deadline_extended" history event the reporter sees (without the reason).
    event_id: Mapped[int | None] = mapped_column(ForeignKey("report_events.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ground: Mapped[str] = mapped_column(String(32))
    # Internal: never shown to the reporter.
    reason: Mapped[str] = mapped_column(Text)
    due_before: Mapped[datetime] = mapped_column(UTCDateTime)
    due_after: Mapped[datetime] = mapped_column(UTCDateTime)

    deadline: Mapped[Deadline] = relationship(back_populates="extensions")
    actor = relationship("User")


class DeadlineNotification(db.Model):
    """A reminder or escalation sent to one user about one deadline on one day.

    The unique key makes ``flask deadlines remind`` idempotent: run twice the same day, it finds
    everything already sent.
    """

    __tablename__ = "deadline_notifications"
    __table_args__ = (UniqueConstraint("deadline_id", "user_id", "kind", "day"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    deadline_id: Mapped[int] = mapped_column(ForeignKey("report_deadlines.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "reminder" or "escalation"
    day: Mapped[date] = mapped_column(Date)  # local date in Vietnam
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CalendarAdjustment(db.Model):
    """A day the Government moved: a make-up working day (usually a Saturday) or an extra day
    off (a bridge day around Tết or 2/9), entered by an administrator."""

    __tablename__ = "calendar_adjustments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # calendar.WORKING or calendar.DAY_OFF
    # The Government's notice, e.g. "Thông báo 6150/TB-BLĐTBXH".
    note: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
