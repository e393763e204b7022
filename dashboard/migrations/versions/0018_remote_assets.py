"""remote assets (links to data kept elsewhere, log_remote_asset); 3D scenes' parts are their own asset type

Revision ID: 0018
Revises: 0016
Create Date: 2026-12-04
"""
import sqlalchemy as sa
import sqlmodel
from alembic import op


revision = '0018'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN (see 0006: a batch copy of a table with foreign keys loses rows).
    op.add_column('asset', sa.Column('remote_url', sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True))
    # The parts of 3D scenes imported from comet archives were kept as "other" assets marked in
    # their metadata; they are now "3d-points", which the experiment page's 3D viewer reads.
    asset = sa.table('asset', sa.column('type', sa.String), sa.column('metadata_json', sa.String))
    op.get_bind().execute(asset.update().where(
        asset.c.type == 'other', asset.c.metadata_json.like('%"comet_upload_type": "3d-points"%')).values(type='3d-points'))


def downgrade() -> None:
    asset = sa.table('asset', sa.column('type', sa.String))
    op.get_bind().execute(asset.update().where(asset.c.type == '3d-points').values(type='other'))
    op.drop_column('asset', 'remote_url')
