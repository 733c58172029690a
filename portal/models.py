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
from portal.jobs.models import Job
from portal.protection.models import IdentityDisclosure, ReportSearchToken
from portal.reports.models import (
    Attachment,
    InternalNote,
    Message,
    Report,
    ReporterIdentity,
    ReportEvent,
)
from portal.supervision.models import (
    DailyCount,
    DeadlineFact,
    DirtyPeriod,
    EventFact,
    MonthlyStageCount,
    OpenFact,
    Snapshot,
)

__all__ = [
    "Agency",
    "Attachment",
    "AuditEntry",
    "CalendarAdjustment",
    "Classification",
    "DailyCount",
    "Deadline",
    "DeadlineExtension",
    "DeadlineFact",
    "DeadlineNotification",
    "DirtyPeriod",
    "EventFact",
    "IdentityDisclosure",
    "InternalNote",
    "Job",
    "Message",
    "MonthlyStageCount",
    "OpenFact",
    "Report",
    "ReportEvent",
    "ReportSearchToken",
    "ReporterIdentity",
    "Snapshot",
    "User",
]
