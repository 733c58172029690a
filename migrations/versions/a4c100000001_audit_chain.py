"""tamper-evident audit log: hash chain (seq, prev_hash, entry_hash), append-only on PostgreSQL

Revision ID: a4c100000001
Revises: a4b100000001
Create Date: 2026-11-23 10:00:00.000000

Existing entries are chained in id order during the upgrade, with the same canonical
serialisation as portal/audit/chain.py (copied here so that later changes to the
application cannot change what this revision does).
"""
import hashlib
import json
from datetime import UTC

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a4c100000001'
down_revision = 'a4b100000001'
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def _entry_hash(seq, created_at, user_id, action, report_id, detail, prev_hash):
    if created_at.tzinfo is not None:
        created_at = created_at.astimezone(UTC).replace(tzinfo=None)
    detail = json.loads(json.dumps(detail or {}, ensure_ascii=False))
    payload = ["tinbao-audit-v1", seq, created_at.isoformat(timespec="microseconds"), user_id,
               action, report_id, detail, prev_hash]
    data = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(data.encode("utf-8")).hexdigest()


def _chain_existing_entries():
    entries = sa.table(
        "audit_entries",
        sa.column("id", sa.Integer), sa.column("created_at", sa.DateTime),
        sa.column("user_id", sa.Integer), sa.column("action", sa.String),
        sa.column("report_id", sa.Integer), sa.column("detail", sa.JSON),
        sa.column("seq", sa.Integer), sa.column("prev_hash", sa.String),
        sa.column("entry_hash", sa.String),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(entries.c.id, entries.c.created_at, entries.c.user_id,
                                  entries.c.action, entries.c.report_id, entries.c.detail)
                        .order_by(entries.c.id)).all()
    prev = GENESIS
    for seq, row in enumerate(rows, start=1):
        digest = _entry_hash(seq, row.created_at, row.user_id, row.action, row.report_id,
                             row.detail, prev)
        conn.execute(entries.update().where(entries.c.id == row.id)
                     .values(seq=seq, prev_hash=prev, entry_hash=digest))
        prev = digest


def upgrade():
    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('prev_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('entry_hash', sa.String(length=64), nullable=True))

    _chain_existing_entries()

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.alter_column('seq', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('entry_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_audit_entries_seq'), ['seq'])

    if op.get_bind().dialect.name == "postgresql":
        # Append-only at the database: UPDATE and DELETE on audit entries are refused for
        # every role that does not first disable the trigger (which needs table ownership).
        # (OR REPLACE: dropping the tables, as the test suite does, leaves the function.)
        op.execute("""
            CREATE OR REPLACE FUNCTION tinbao_audit_entries_append_only() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'audit_entries is append-only';
            END;
            $$
        """)
        op.execute("""
            CREATE TRIGGER audit_entries_append_only
            BEFORE UPDATE OR DELETE ON audit_entries
            FOR EACH ROW EXECUTE FUNCTION tinbao_audit_entries_append_only()
        """)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS audit_entries_append_only ON audit_entries")
        op.execute("DROP FUNCTION IF EXISTS tinbao_audit_entries_append_only()")

    with op.batch_alter_table('audit_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_entries_seq'), type_='unique')
        batch_op.drop_column('entry_hash')
        batch_op.drop_column('prev_hash')
        batch_op.drop_column('seq')
