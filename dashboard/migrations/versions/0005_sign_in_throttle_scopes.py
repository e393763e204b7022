"""sign-in throttling by account, address and known browser: the scope and account of each row

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows counted failures per typed name; the new subjects are accounts, addresses and
    # browsers. Recent failures are forgotten once: at worst a guesser starts counting again.
    throttle = sa.table('loginthrottle')
    op.execute(throttle.delete())
    with op.batch_alter_table('loginthrottle', schema=None) as batch_op:
        batch_op.add_column(sa.Column('scope', sqlmodel.sql.sqltypes.AutoString(length=16), server_default='',
                                      nullable=False))
        batch_op.add_column(sa.Column('user_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_loginthrottle_user_id'), ['user_id'], unique=False)


def downgrade() -> None:
    throttle = sa.table('loginthrottle')
    op.execute(throttle.delete())
    with op.batch_alter_table('loginthrottle', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_loginthrottle_user_id'))
        batch_op.drop_column('user_id')
        batch_op.drop_column('scope')
