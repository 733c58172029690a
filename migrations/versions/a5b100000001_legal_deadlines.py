"""legal deadlines: report deadlines and their extensions, reminders sent, working-day calendar
adjustments, staff e-mail for reminders

Revision ID: a5b100000001
Revises: a5a100000001
Create Date: 2026-11-23 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a5b100000001'
down_revision = 'a5a100000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('email', sa.String(length=255), nullable=True))

    op.create_table(
        'calendar_adjustments',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('note', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('created_by_user_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['created_by_user_id'], ['users.id'],
                                name=op.f('fk_calendar_adjustments_created_by_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_adjustments')),
        sa.UniqueConstraint('day', name=op.f('uq_calendar_adjustments_day')),
    )

    op.create_table(
        'report_deadlines',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.Integer(), nullable=False),
        sa.Column('report_type', sa.String(length=16), nullable=False),
        sa.Column('stage', sa.String(length=32), nullable=False),
        sa.Column('party', sa.String(length=8), nullable=False),
        sa.Column('start_event_id', sa.Integer(), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('length', sa.Integer(), nullable=False),
        sa.Column('unit', sa.String(length=16), nullable=False),
        sa.Column('basis', sa.String(length=255), nullable=False),
        sa.Column('due_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.Column('closed_by', sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(['report_id'], ['reports.id'],
                                name=op.f('fk_report_deadlines_report_id_reports')),
        sa.ForeignKeyConstraint(['start_event_id'], ['report_events.id'],
                                name=op.f('fk_report_deadlines_start_event_id_report_events')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_report_deadlines')),
    )
    with op.batch_alter_table('report_deadlines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_deadlines_report_id'), ['report_id'])
        batch_op.create_index(batch_op.f('ix_report_deadlines_due_at'), ['due_at'])
        batch_op.create_index(batch_op.f('ix_report_deadlines_closed_at'), ['closed_at'])

    op.create_table(
        'deadline_extensions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('deadline_id', sa.Integer(), nullable=False),
        sa.Column('event_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('actor_user_id', sa.Integer(), nullable=True),
        sa.Column('ground', sa.String(length=32), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('due_before', sa.DateTime(), nullable=False),
        sa.Column('due_after', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'],
                                name=op.f('fk_deadline_extensions_actor_user_id_users')),
        sa.ForeignKeyConstraint(['deadline_id'], ['report_deadlines.id'],
                                name=op.f('fk_deadline_extensions_deadline_id_report_deadlines')),
        sa.ForeignKeyConstraint(['event_id'], ['report_events.id'],
                                name=op.f('fk_deadline_extensions_event_id_report_events')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_extensions')),
    )
    with op.batch_alter_table('deadline_extensions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_extensions_deadline_id'), ['deadline_id'])
        batch_op.create_index(batch_op.f('ix_deadline_extensions_event_id'), ['event_id'])

    op.create_table(
        'deadline_notifications',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('deadline_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('sent_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['deadline_id'], ['report_deadlines.id'],
                                name=op.f('fk_deadline_notifications_deadline_id_report_deadlines')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_deadline_notifications_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_deadline_notifications')),
        sa.UniqueConstraint('deadline_id', 'user_id', 'kind', 'day',
                            name=op.f('uq_deadline_notifications_deadline_id')),
    )
    with op.batch_alter_table('deadline_notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deadline_notifications_deadline_id'),
                              ['deadline_id'])
        batch_op.create_index(batch_op.f('ix_deadline_notifications_user_id'), ['user_id'])


def downgrade():
    op.drop_table('deadline_notifications')
    op.drop_table('deadline_extensions')
    op.drop_table('report_deadlines')
    op.drop_table('calendar_adjustments')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('email')
