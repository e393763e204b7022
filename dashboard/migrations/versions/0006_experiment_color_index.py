"""experiment colors by order: each experiment's order in its project, and each project's next one

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD/DROP COLUMN (SQLite has both since 3.35): a batch copy of the experiment table
    # would drop the original, and with foreign keys on that deletes every row referring to it.
    op.add_column('experiment', sa.Column('color_index', sa.Integer(), nullable=True))
    op.add_column('project', sa.Column('next_color_index', sa.Integer(), server_default='0', nullable=False))

    # Existing experiments are numbered in the order they were created (their ids) within each
    # project, as new ones are from now on; a color a user picked (experiment.color) stays.
    bind = op.get_bind()
    experiment = sa.table('experiment', sa.column('id', sa.Integer), sa.column('project_id', sa.Integer),
                          sa.column('color_index', sa.Integer))
    project = sa.table('project', sa.column('id', sa.Integer), sa.column('next_color_index', sa.Integer))
    rows = bind.execute(sa.select(experiment.c.id, experiment.c.project_id)
                        .order_by(experiment.c.project_id, experiment.c.id)).all()
    counts: dict[int, int] = {}
    numbered = []
    for experiment_id, project_id in rows:
        index = counts.get(project_id, 0)
        counts[project_id] = index + 1
        numbered.append({'row_id': experiment_id, 'index': index})
    if numbered:
        bind.execute(experiment.update().where(experiment.c.id == sa.bindparam('row_id'))
                     .values(color_index=sa.bindparam('index')), numbered)
    if counts:
        bind.execute(project.update().where(project.c.id == sa.bindparam('row_id'))
                     .values(next_color_index=sa.bindparam('count')),
                     [{'row_id': p, 'count': n} for p, n in counts.items()])


def downgrade() -> None:
    op.drop_column('project', 'next_color_index')
    op.drop_column('experiment', 'color_index')
