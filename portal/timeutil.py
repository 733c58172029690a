"""Time handling: store UTC, show Asia/Ho_Chi_Minh as dd/mm/yyyy."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.types import TypeDecorator

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def utcnow() -> datetime:
    """Current time, timezone-aware UTC."""
    return datetime.now(UTC)


def today_vn() -> date:
    """Today's date in Vietnam (used to refuse events dated in the future)."""
    return datetime.now(VN_TZ).date()


class UTCDateTime(TypeDecorator):
    """A timestamp stored as naive UTC and read back as aware UTC.

    SQLite has no time zones; storing naive UTC on both engines keeps comparisons and
    ordering identical on SQLite and PostgreSQL.
    """

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def format_datetime_vn(value: datetime | None) -> str:
    """``dd/mm/yyyy HH:MM`` in Vietnam time."""
    if value is None:
        return ""
    return value.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M")


def format_date_vn(value: date | datetime | None) -> str:
    """``dd/mm/yyyy``."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = value.astimezone(VN_TZ).date()
    return value.strftime("%d/%m/%Y")
