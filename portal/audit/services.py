"""Writing the audit trail."""

from portal.audit.models import AuditEntry
from portal.extensions import db


def record(action: str, *, user=None, report=None, **detail) -> AuditEntry:
    """Add an audit entry to the current transaction (committed with the change it records)."""
    entry = AuditEntry(
        action=action,
        user_id=getattr(user, "id", None),
        report_id=getattr(report, "id", None),
        detail=detail,
    )
    db.session.add(entry)
    return entry
