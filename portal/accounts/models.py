"""Staff users."""

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.agencies.models import Agency
from portal.extensions import db
from portal.timeutil import UTCDateTime, utcnow

# "custodian" keeps the reporters' identities: the only role that can open one, always through
# an audited action (portal/protection/disclosure.py, Luật Tố cáo 2018, Art. 47).
ROLES = ("triage", "agency", "supervisor", "admin", "custodian")
# Roles that must use two-factor login: they see identities or the whole system. (A role
# named here that ROLES does not list yet simply has no users.)
TOTP_REQUIRED_ROLES = ("custodian", "supervisor", "admin")


class User(UserMixin, db.Model):
    """A staff member. Agency users belong to exactly one agency."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    agency_id: Mapped[int | None] = mapped_column(ForeignKey("agencies.id"), index=True)
    # Where deadline reminders go when SMTP is configured (portal/notify); optional.
    email: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Two-factor (TOTP). The secret is stored encrypted (portal/accounts/twofactor.py) and is
    # in force only once confirmed with a code (totp_enabled_at set).
    totp_secret_encrypted: Mapped[str | None] = mapped_column(String(255))
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The time step of the last accepted code: a code is never accepted twice.
    totp_last_timestep: Mapped[int | None] = mapped_column(BigInteger)
    # Consecutive failed logins (password or code) and the end of the current lockout.
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set when the password changes or two-factor is reset: sessions begun before it end.
    credentials_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agency: Mapped[Agency | None] = relationship()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users at login and load.
        return self.active

    @property
    def two_factor_enabled(self) -> bool:
        return self.totp_enabled_at is not None

    @property
    def two_factor_required(self) -> bool:
        return self.role in TOTP_REQUIRED_ROLES

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"
