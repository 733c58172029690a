"""report claims: the Front officer handling a report ("Nhận xử lý") and since when

A triage officer claims a report in the Front's queue so that two officers never work on (or
transfer) the same report; the claim ends when the report leaves the Front or is released
(docs/production.md "Concurrency").

Revision ID: a6b100000001
Revises: a6a100000001
Create Date: 2026-11-30 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a6b100000001'
down_revision = 'a6a100000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_by_user_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('claimed_at', sa.DateTime(), nullable=True))
        batch_op.create_index('ix_reports_claimed_by_user_id', ['claimed_by_user_id'],
                              unique=False)
        batch_op.create_foreign_key('fk_reports_claimed_by_user_id_users', 'users',
                                    ['claimed_by_user_id'], ['id'])


def downgrade():
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_constraint('fk_reports_claimed_by_user_id_users', type_='foreignkey')
        batch_op.drop_index('ix_reports_claimed_by_user_id')
        batch_op.drop_column('claimed_at')
        batch_op.drop_column('claimed_by_user_id')
