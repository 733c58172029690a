"""Every model, imported in one place so Alembic and ``db.create_all`` see all tables."""

from portal.accounts.models import User
from portal.agencies.models import Agency
from portal.audit.models import AuditEntry
from portal.classification.models import Classification
from portal.deadlines.models import (
    CalendarAdjustment,
    Deadline,
    DeadlineExtension,
    DeadlineNotification,
)
from portal.protection.models import IdentityDisclosure, ReportSearchToken
from portal.reports.models import (
    Attachment,
    InternalNote,
    Message,
    Report,
    ReporterIdentity,
    ReportEvent,
)

__all__ = [
    "Agency",
    "Attachment",
    "AuditEntry",
    "CalendarAdjustment",
    "Classification",
    "Deadline",
    "DeadlineExtension",
    "DeadlineNotification",
    "IdentityDisclosure",
    "InternalNote",
    "Message",
    "Report",
    "ReportEvent",
    "ReportSearchToken",
    "ReporterIdentity",
    "User",
]
