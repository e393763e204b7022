"""artifacts: versions, their files and the experiments that used them

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

BIG = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        'artifact',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('workspace_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('type', sa.String(length=100), nullable=False),
        sa.Column('description', sa.String(), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['workspace_id'], ['workspace.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('workspace_id', 'name'),
    )
    op.create_index('ix_artifact_workspace_id', 'artifact', ['workspace_id'])
    op.create_table(
        'artifactversion',
        sa.Column('id', sa.String(length=36), nullable=False),
        sa.Column('artifact_id', sa.String(length=36), nullable=False),
        sa.Column('version', sa.String(length=64), nullable=False),
        sa.Column('major', BIG, nullable=False),
        sa.Column('minor', BIG, nullable=False),
        sa.Column('patch', BIG, nullable=False),
        sa.Column('aliases_json', sa.String(), nullable=False),
        sa.Column('tags_json', sa.String(), nullable=False),
        sa.Column('metadata_json', sa.String(), nullable=True),
        sa.Column('state', sa.String(length=8), nullable=False),
        sa.Column('experiment_id', sa.Integer(), nullable=True),
        sa.Column('size', BIG, nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column('updated_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['artifact_id'], ['artifact.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['experiment_id'], ['experiment.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['created_by_id'], ['user.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('artifact_id', 'version'),
    )
    op.create_index('ix_artifactversion_artifact_id', 'artifactversion', ['artifact_id'])
    op.create_index('ix_artifactversion_experiment_id', 'artifactversion', ['experiment_id'])
    op.create_table(
        'artifactfile',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.String(length=36), nullable=False),
        sa.Column('asset_id', sa.String(length=64), nullable=False),
        sa.Column('file_name', sa.String(length=1000), nullable=False),
        sa.Column('type', sa.String(length=100), nullable=False),
        sa.Column('size', BIG, nullable=False),
        sa.Column('storage_path', sa.String(length=64), nullable=False),
        sa.Column('remote_url', sa.String(length=2000), nullable=True),
        sa.Column('metadata_json', sa.String(), nullable=True),
        sa.Column('content_type', sa.String(length=100), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['version_id'], ['artifactversion.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('version_id', 'asset_id'),
    )
    op.create_index('ix_artifactfile_version_id', 'artifactfile', ['version_id'])
    op.create_index('ix_artifactfile_asset_id', 'artifactfile', ['asset_id'])
    op.create_table(
        'artifactuse',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('version_id', sa.String(length=36), nullable=False),
        sa.Column('experiment_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['version_id'], ['artifactversion.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['experiment_id'], ['experiment.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('version_id', 'experiment_id'),
    )
    op.create_index('ix_artifactuse_version_id', 'artifactuse', ['version_id'])
    op.create_index('ix_artifactuse_experiment_id', 'artifactuse', ['experiment_id'])


def downgrade() -> None:
    for table, columns in (('artifactuse', ('experiment_id', 'version_id')), ('artifactfile', ('asset_id', 'version_id')),
                           ('artifactversion', ('experiment_id', 'artifact_id')), ('artifact', ('workspace_id',))):
        for column in columns:
            op.drop_index(f'ix_{table}_{column}', table_name=table)
        op.drop_table(table)
