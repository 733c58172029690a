"""supervision facts: per-event, per-deadline and open-case facts, stored daily and monthly
counts, the alerts snapshot — filled from the existing history

The dashboard's figures for a year of a million reports read these instead of joining and
windowing the whole history (docs/supervision.md, "How it is computed"). The facts are kept in
step by portal/supervision/facts.py in the transaction of every change; this revision computes
them for the history already there, then the stored counts (as
``flask --app portal supervision rebuild-facts`` does).

Revision ID: a6c100000001
Revises: a6b100000001
Create Date: 2026-11-23 03:00:00.000000

"""
from datetime import datetime

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a6c100000001'
down_revision = 'a6b100000001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'supervision_event_facts',
        sa.Column('event_id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=True),
        sa.Column('stage_started_at', sa.DateTime(), nullable=True),
        sa.Column('stage_days', sa.Float(), nullable=True),
        sa.Column('bucket', sa.Integer(), nullable=True),
        sa.Column('misrouted', sa.Boolean(), nullable=False),
        sa.Column('spam', sa.Boolean(), nullable=False),
        sa.Column('sector', sa.String(length=32), nullable=True),
        sa.Column('report_type', sa.String(length=16), nullable=True),
        sa.Column('province_code', sa.Integer(), nullable=True),
        sa.Column('ward_code', sa.Integer(), nullable=True),
        sa.Column('outcome_code', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(['event_id'], ['report_events.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('event_id'),
    )
    with op.batch_alter_table('supervision_event_facts', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_event_facts_created_at', ['created_at'])
        batch_op.create_index('ix_supervision_event_facts_kind_bucket',
                              ['kind', 'bucket', 'created_at', 'spam', 'stage_days'])
        batch_op.create_index('ix_supervision_event_facts_kind_agency_bucket',
                              ['kind', 'agency_id', 'bucket', 'created_at', 'spam',
                               'stage_days'])
        batch_op.create_index(batch_op.f('ix_supervision_event_facts_report_id'), ['report_id'])

    op.create_table(
        'supervision_deadline_facts',
        sa.Column('deadline_id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('agency_id', sa.Integer(), nullable=True),
        sa.Column('spam', sa.Boolean(), nullable=False),
        sa.Column('sector', sa.String(length=32), nullable=True),
        sa.Column('report_type', sa.String(length=16), nullable=True),
        sa.Column('province_code', sa.Integer(), nullable=True),
        sa.Column('ward_code', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['deadline_id'], ['report_deadlines.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('deadline_id'),
    )
    with op.batch_alter_table('supervision_deadline_facts', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_deadline_facts_due_at', ['due_at'])
        batch_op.create_index(batch_op.f('ix_supervision_deadline_facts_report_id'),
                              ['report_id'])

    op.create_table(
        'supervision_open_facts',
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=True),
        sa.Column('crime_confirmed', sa.Boolean(), nullable=True),
        sa.Column('resolve_due_at', sa.DateTime(), nullable=True),
        sa.Column('sector', sa.String(length=32), nullable=True),
        sa.Column('report_type', sa.String(length=16), nullable=True),
        sa.Column('province_code', sa.Integer(), nullable=True),
        sa.Column('ward_code', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('report_id'),
    )

    op.create_table(
        'supervision_daily_counts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('dim', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=32), nullable=True),
        *[sa.Column(name, sa.Integer(), nullable=False)
          for name in ('received', 'transferred', 'accepted', 'returned', 'resolved',
                       'misrouted', 'overdue')],
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('supervision_daily_counts', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_daily_counts_day', ['day'])

    op.create_table(
        'supervision_monthly_stages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('month', sa.String(length=7), nullable=False),
        sa.Column('kind', sa.String(length=32), nullable=False),
        sa.Column('agency_id', sa.Integer(), nullable=True),
        sa.Column('bucket', sa.Integer(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('supervision_monthly_stages', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_monthly_stages_month', ['month'])

    op.create_table(
        'supervision_dirty',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('family', sa.String(length=8), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('supervision_dirty', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_dirty_family_day', ['family', 'day'])

    op.create_table(
        'supervision_snapshots',
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.Column('computed_at', sa.DateTime(), nullable=False),
        sa.Column('data', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )

    # The facts and counts of the history already there. This uses the portal's own
    # statements (portal/supervision/facts.py), so that the backfill is the very computation
    # the portal keeps up afterwards; a later revision that changes these tables must rebuild
    # them itself.
    from portal.deadlines.calendar import local_date
    from portal.supervision import facts

    bind = op.get_bind()
    facts.rebuild_facts(bind)
    facts.refresh(bind, local_date(datetime.now().astimezone()), rebuild=True)


def downgrade():
    op.drop_table('supervision_snapshots')
    with op.batch_alter_table('supervision_dirty', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_dirty_family_day')
    op.drop_table('supervision_dirty')
    with op.batch_alter_table('supervision_monthly_stages', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_monthly_stages_month')
    op.drop_table('supervision_monthly_stages')
    with op.batch_alter_table('supervision_daily_counts', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_daily_counts_day')
    op.drop_table('supervision_daily_counts')
    op.drop_table('supervision_open_facts')
    with op.batch_alter_table('supervision_deadline_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_deadline_facts_report_id'))
        batch_op.drop_index('ix_supervision_deadline_facts_due_at')
    op.drop_table('supervision_deadline_facts')
    with op.batch_alter_table('supervision_event_facts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_supervision_event_facts_report_id'))
        batch_op.drop_index('ix_supervision_event_facts_kind_agency_bucket')
        batch_op.drop_index('ix_supervision_event_facts_kind_bucket')
        batch_op.drop_index('ix_supervision_event_facts_created_at')
    op.drop_table('supervision_event_facts')
