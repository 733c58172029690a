"""Writing the audit trail, and keeping it append-only and chained.

Concurrent writers: appending reads the chain's head and writes the next entry, so two
transactions must never read the same head. On PostgreSQL we take a transaction-level
advisory lock (``pg_advisory_xact_lock``) before reading the head; it is released when the
transaction commits or rolls back, so appends are serialised for exactly as long as needed
and nothing else (other tables, readers of the audit log) waits. On SQLite a transaction only
takes the database's write lock at its first write, so we make a no-op write first; from then
on other writers wait for our commit. Either way the unique index on ``seq`` turns any
remaining race into an error, never a forked chain.
"""

from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from portal.audit import chain
from portal.audit.models import AuditEntry
from portal.extensions import db
from portal.timeutil import utcnow

# Any constant identifies "the audit chain" among the application's advisory locks.
ADVISORY_LOCK_KEY = 0x7A1B_A0D1


class AuditLogIsAppendOnly(Exception):
    """Raised when code tries to change or delete an audit entry through the ORM."""


def lock_chain(session) -> None:
    """Serialise appends until the end of the current transaction (see the module docstring)."""
    with session.no_autoflush:
        dialect = session.get_bind().dialect.name
        if dialect == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"),
                            {"key": ADVISORY_LOCK_KEY})
        elif dialect == "sqlite":
            # Matches no row; its only effect is to take SQLite's write lock now.
            session.execute(text("UPDATE audit_entries SET seq = seq WHERE 1 = 0"))


def record(action: str, *, user=None, report=None, **detail) -> AuditEntry:
    """Add an audit entry to the current transaction (committed with the change it records).

    The entry is chained to the last one; the chain stays locked until the caller commits.
    """
    session = db.session
    lock_chain(session)
    # Pending changes (a new report's id, earlier entries of this transaction) are written
    # now so that the head we read below is really the last entry.
    session.flush()
    head = session.execute(
        select(AuditEntry.seq, AuditEntry.entry_hash).order_by(AuditEntry.seq.desc()).limit(1)
    ).first()
    seq, prev_hash = (head.seq + 1, head.entry_hash) if head else (1, chain.GENESIS)
    fields = {
        "seq": seq,
        "created_at": utcnow(),
        "user_id": getattr(user, "id", None),
        "action": action,
        "report_id": getattr(report, "id", None),
        "detail": chain.canonical_detail(detail),
        "prev_hash": prev_hash,
    }
    entry = AuditEntry(**fields, entry_hash=chain.entry_hash(**fields))
    session.add(entry)
    return entry


def verify(*, anchor: tuple[int, str] | None = None) -> chain.Verdict:
    """Walk the whole stored chain in insertion order (see :func:`portal.audit.chain.verify`)."""
    # Plain rows rather than ORM objects: a few times faster on a long log.
    rows = db.session.execute(
        select(AuditEntry.id, AuditEntry.seq, AuditEntry.created_at, AuditEntry.user_id,
               AuditEntry.action, AuditEntry.report_id, AuditEntry.detail, AuditEntry.prev_hash,
               AuditEntry.entry_hash)
        .order_by(AuditEntry.id).execution_options(yield_per=1000)
    )
    return chain.verify(rows, anchor=anchor)


@event.listens_for(Session, "before_flush")
def _refuse_changes_to_audit_entries(session, flush_context, instances) -> None:
    # Append-only at the ORM level: no code path of ours may edit or delete an entry. (On
    # PostgreSQL a trigger refuses it at the database too; the chain catches everything else.)
    for obj in session.deleted:
        if isinstance(obj, AuditEntry):
            raise AuditLogIsAppendOnly("audit entries cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, AuditEntry) and session.is_modified(obj):
            raise AuditLogIsAppendOnly("audit entries cannot be changed")
