"""every experiment has a readable name: runs logged without one get a generated name

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""
import secrets

import coolname
import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The same names new runs get (dashboard.services.names.generated_experiment_name), unique
    # in each project; a name a user gave stays.
    bind = op.get_bind()
    experiment = sa.table('experiment', sa.column('id', sa.Integer), sa.column('project_id', sa.Integer),
                          sa.column('name', sa.String))
    unnamed = bind.execute(sa.select(experiment.c.id, experiment.c.project_id)
                           .where(sa.or_(experiment.c.name.is_(None), experiment.c.name == ''))
                           .order_by(experiment.c.id)).all()
    if not unnamed:
        return
    taken: dict[int, set] = {}
    for project_id, name in bind.execute(sa.select(experiment.c.project_id, experiment.c.name)
                                         .where(experiment.c.name.is_not(None))):
        taken.setdefault(project_id, set()).add(name)
    named = []
    for experiment_id, project_id in unnamed:
        names = taken.setdefault(project_id, set())
        name = None
        while name is None or name in names:
            name = "_".join(coolname.generate(2)) + f"_{secrets.randbelow(9000) + 1000}"
        names.add(name)
        named.append({'row_id': experiment_id, 'name': name})
    bind.execute(experiment.update().where(experiment.c.id == sa.bindparam('row_id'))
                 .values(name=sa.bindparam('name')), named)


def downgrade() -> None:
    pass  # the generated names are kept: they are names like any other
