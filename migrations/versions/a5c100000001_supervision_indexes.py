"""supervision: indexes for the dashboard's aggregate queries over the report history

The supervision figures (portal/supervision/stats.py) select history events by kind and
period, walk each case's events in order (window functions) and narrow to one agency's
events; a year of a million reports must come back in seconds (docs/supervision.md).

Revision ID: a5c100000001
Revises: a5b100000001
Create Date: 2026-11-23 00:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a5c100000001'
down_revision = 'a5b100000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('report_events', schema=None) as batch_op:
        batch_op.create_index('ix_report_events_kind_created_at', ['kind', 'created_at'],
                              unique=False)
        batch_op.create_index('ix_report_events_report_id_id', ['report_id', 'id'],
                              unique=False)
        batch_op.create_index('ix_report_events_agency_id_kind_created_at',
                              ['agency_id', 'kind', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('report_events', schema=None) as batch_op:
        batch_op.drop_index('ix_report_events_agency_id_kind_created_at')
        batch_op.drop_index('ix_report_events_report_id_id')
        batch_op.drop_index('ix_report_events_kind_created_at')
