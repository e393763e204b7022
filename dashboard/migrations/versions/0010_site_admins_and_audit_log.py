"""site administrators, display names, last sign-in, and the audit log

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

DEMO_EMAIL = "demo@halley.invalid"  # dashboard.services.demo_owner.DEMO_EMAIL


def upgrade() -> None:
    # Plain ADD/DROP COLUMN (see 0006: a batch copy of a table with foreign keys loses rows).
    op.add_column('user', sa.Column('is_site_admin', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('user', sa.Column('display_name', sa.String(length=128), nullable=False, server_default=''))
    op.add_column('user', sa.Column('last_sign_in_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True))
    op.create_table(
        'auditevent',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('action', sa.String(length=64), nullable=False),
        sa.Column('actor_user_id', sa.Integer(), nullable=True),
        sa.Column('actor_name', sa.String(length=254), nullable=False),
        sa.Column('target', sa.String(length=300), nullable=False),
        sa.Column('detail', sa.String(length=2000), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_auditevent_created_at', 'auditevent', ['created_at'])
    op.create_index('ix_auditevent_action', 'auditevent', ['action'])
    op.create_index('ix_auditevent_actor_user_id', 'auditevent', ['actor_user_id'])
    # The first owner account (the one first-run setup made) administers the site.
    user = sa.table('user', sa.column('id', sa.Integer), sa.column('email', sa.String),
                    sa.column('is_site_admin', sa.Boolean))
    bind = op.get_bind()
    first = bind.execute(sa.select(sa.func.min(user.c.id)).where(user.c.email != DEMO_EMAIL)).scalar()
    if first is not None:
        bind.execute(user.update().where(user.c.id == first).values(is_site_admin=True))


def downgrade() -> None:
    op.drop_index('ix_auditevent_actor_user_id', table_name='auditevent')
    op.drop_index('ix_auditevent_action', table_name='auditevent')
    op.drop_index('ix_auditevent_created_at', table_name='auditevent')
    op.drop_table('auditevent')
    op.drop_column('user', 'last_sign_in_at')
    op.drop_column('user', 'display_name')
    op.drop_column('user', 'is_site_admin')
