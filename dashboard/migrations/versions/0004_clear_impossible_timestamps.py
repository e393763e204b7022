"""clear impossible timestamps: times outside 1970..9999 (once accepted, e.g. 1e308) become NULL

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# The end of the year 9999 in seconds since 1970: the latest time a reader can convert.
MAX_TIMESTAMP_S = 253_402_300_799
COLUMNS = {
    'metricpoint': ('timestamp',),
    'outputline': ('timestamp',),
    'metricseries': ('first_timestamp', 'last_timestamp'),
    'metricrollup': ('min_timestamp', 'max_timestamp'),
}


def upgrade() -> None:
    bind = op.get_bind()
    for table_name, columns in COLUMNS.items():
        table = sa.table(table_name, *(sa.column(c, sa.Float) for c in columns))
        for name in columns:
            column = table.c[name]
            # NaN is neither below 0 nor above the limit, but it is not equal to itself either.
            bind.execute(table.update()
                         .where(sa.or_(column < 0, column > MAX_TIMESTAMP_S, column != column))
                         .values({name: None}))


def downgrade() -> None:
    pass  # the cleared values were unreadable; there is nothing to put back
