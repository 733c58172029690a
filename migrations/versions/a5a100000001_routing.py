"""routing: the rule behind each transfer, the suggested agency and the override reason

Transfers record which routing rule (portal/routing/rules.yaml) suggested an agency, which
agency it suggested and, when the officer chose another one, their reason — so returns and
re-routes can be counted per rule (the misrouting rate).

Revision ID: a5a100000001
Revises: a4d100000001
Create Date: 2026-11-24 09:00:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = 'a5a100000001'
down_revision = 'a4d100000001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('report_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('routing_rule', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('suggested_agency_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('override_reason', sa.Text(), nullable=True))
        batch_op.create_foreign_key('fk_report_events_suggested_agency_id_agencies',
                                    'agencies', ['suggested_agency_id'], ['id'])


def downgrade():
    with op.batch_alter_table('report_events', schema=None) as batch_op:
        batch_op.drop_constraint('fk_report_events_suggested_agency_id_agencies',
                                 type_='foreignkey')
        batch_op.drop_column('override_reason')
        batch_op.drop_column('suggested_agency_id')
        batch_op.drop_column('routing_rule')
