"""optimizer sweeps and the parameter sets they hand out

Revision ID: 0016
Revises: 0013
Create Date: 2026-12-04
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0016'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'optimizersweep',
        sa.Column('id', sa.String(length=32), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=300), nullable=False),
        sa.Column('algorithm', sa.String(length=16), nullable=False),
        sa.Column('config_json', sa.String(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('total', sa.Integer(), nullable=False),
        sa.Column('handed', sa.Integer(), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_optimizersweep_workspace_id', 'optimizersweep', ['workspace_id'])
    op.create_table(
        'optimizertrial',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('sweep_id', sa.String(length=32), nullable=False),
        sa.Column('pid', sa.String(length=64), nullable=False),
        sa.Column('trial', sa.Integer(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('params_json', sa.String(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('score', sa.Float(), nullable=True),
        sa.Column('epoch', sa.Integer(), nullable=True),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('experiment_key', sa.String(length=50), nullable=True),
        sa.Column('metadata_json', sa.String(), nullable=True),
        sa.Column('started_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('ended_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['sweep_id'], ['optimizersweep.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('sweep_id', 'pid', 'trial'),
    )
    op.create_index('ix_optimizertrial_sweep_status', 'optimizertrial', ['sweep_id', 'status'])


def downgrade() -> None:
    op.drop_index('ix_optimizertrial_sweep_status', table_name='optimizertrial')
    op.drop_table('optimizertrial')
    op.drop_index('ix_optimizersweep_workspace_id', table_name='optimizersweep')
    op.drop_table('optimizersweep')
