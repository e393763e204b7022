"""metric contexts are their own series: points logged with a context move to `{context}_{name}`

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Until now a point's context was kept on the point but its series was named by the bare
    # name, so "rmse" of validation_0 and validation_1 shared one series. New points go to
    # dashboard.services.metrics.series_name(name, context); the points stored so far move there
    # too, and the summaries and rollup of every series that lost or gained points are
    # recomputed from their points.
    from dashboard.services import metrics

    bind = op.get_bind()
    series = sa.table('metricseries', sa.column('id', sa.Integer), sa.column('experiment_id', sa.Integer),
                      sa.column('name', sa.String), sa.column('count', sa.Integer),
                      sa.column('invalid_count', sa.Integer))
    point = sa.table('metricpoint', sa.column('id', sa.Integer), sa.column('series_id', sa.Integer),
                     sa.column('context', sa.String))
    rollup = sa.table('metricrollup', sa.column('series_id', sa.Integer))
    pairs = bind.execute(sa.select(point.c.series_id, point.c.context)
                         .where(point.c.context.is_not(None), point.c.context != '').distinct()).all()
    if not pairs:
        return
    source_ids = sorted({sid for sid, _ in pairs})
    names: dict[int, tuple[int, str]] = {}
    for i in range(0, len(source_ids), 500):
        names.update((sid, (eid, name)) for sid, eid, name in bind.execute(
            sa.select(series.c.id, series.c.experiment_id, series.c.name)
            .where(series.c.id.in_(source_ids[i:i + 500]))))
    experiment_ids = sorted({eid for eid, _ in names.values()})
    existing: dict[tuple[int, str], int] = {}
    for i in range(0, len(experiment_ids), 500):
        existing.update(((eid, name), sid) for sid, eid, name in bind.execute(
            sa.select(series.c.id, series.c.experiment_id, series.c.name)
            .where(series.c.experiment_id.in_(experiment_ids[i:i + 500]))))
    affected: set[int] = set()
    for sid, context in sorted(pairs):
        eid, name = names[sid]
        target = metrics.series_name(name, context)
        if target == name or len(target) > metrics.MAX_SERIES_NAME:
            continue  # already named so, or too long a name to store: the points stay
        tid = existing.get((eid, target))
        if tid is None:
            tid = existing[(eid, target)] = bind.execute(
                series.insert().values(experiment_id=eid, name=target, count=0, invalid_count=0)
                .returning(series.c.id)).scalar_one()
        bind.execute(point.update().where(point.c.series_id == sid, point.c.context == context)
                     .values(series_id=tid))
        affected |= {sid, tid}
    if not affected:
        return
    ids = sorted(affected)
    kept: set[int] = set()
    for i in range(0, len(ids), 500):
        kept.update(r[0] for r in bind.execute(
            sa.select(point.c.series_id).where(point.c.series_id.in_(ids[i:i + 500])).distinct()))
    emptied = [sid for sid in ids if sid not in kept]  # every point had a context: the bare series goes
    for i in range(0, len(emptied), 500):
        chunk = emptied[i:i + 500]
        bind.execute(rollup.delete().where(rollup.c.series_id.in_(chunk)))
        bind.execute(series.delete().where(series.c.id.in_(chunk)))
    metrics.rebuild(bind, sorted(kept))


def downgrade() -> None:
    pass  # the split series stay: each point still carries its context
