"""confusion-matrix example images are their own kind of asset: asset.cm_example

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# The names log_confusion_matrix(images=...) gives the example images it uploads (the comet_ml
# SDK's and ours): "confusion-matrix-00042.png". Kept in step with assets.CM_EXAMPLE_NAME.
PREFIX = 'confusion-matrix-'


def upgrade() -> None:
    # Plain ADD COLUMN (see 0006: a batch copy of a table with foreign keys loses rows).
    op.add_column('asset', sa.Column('cm_example', sa.Boolean(), server_default=sa.false(), nullable=False))

    # Existing example images are recognised by their generated name: the prefix is narrowed in
    # SQL, the exact shape (digits, an image extension) checked here.
    import re

    shape = re.compile(r'confusion-matrix-\d+\.(png|jpe?g|gif|webp|bmp)', re.IGNORECASE)
    bind = op.get_bind()
    asset = sa.table('asset', sa.column('id', sa.Integer), sa.column('type', sa.String),
                     sa.column('file_name', sa.String), sa.column('cm_example', sa.Boolean))
    rows = bind.execute(sa.select(asset.c.id, asset.c.file_name).where(
        asset.c.type == 'image', asset.c.file_name.like(PREFIX + '%'))).all()
    marked = [{'row_id': row_id} for row_id, name in rows if shape.fullmatch(name or '')]
    if marked:
        bind.execute(asset.update().where(asset.c.id == sa.bindparam('row_id')).values(cm_example=True), marked)


def downgrade() -> None:
    op.drop_column('asset', 'cm_example')
