"""What tells an open project page that its experiments changed, for its live updates.

A probe is one aggregate query over the project's experiments (those the table lists: not
archived): how many there are, the latest ``updated_at`` (logging, ending, renaming, coloring,
hiding and moving touch it), how many are running as reads report it (one whose heartbeat
was lost counts as crashed), and the latest heartbeat (which moves the running ones'
durations). The page compares probes and redraws only when they differ.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select
from sqlmodel import Session

from dashboard import query as q
from models import Experiment, Project

# An open page polls every FASTEST_MS at first, backing off to SLOWEST_MS while nothing changes.
FASTEST_MS, SLOWEST_MS = 5_000, 30_000


def next_interval(idle_polls: int) -> int:
    """The poll's period (ms) after ``idle_polls`` polls in a row that found nothing new."""
    return min(FASTEST_MS * 2 ** min(max(idle_polls, 0), 8), SLOWEST_MS)


@dataclass(frozen=True)
class Probe:
    data: list  # count, latest change, running: a difference redraws the rows and the panels
    heartbeat: str | None  # the latest heartbeat: a difference re-reads the rows alone
    running: int

    def as_json(self) -> dict:
        return {"data": self.data, "heartbeat": self.heartbeat}


def probe(session: Session, project: Project) -> Probe:
    """The project's probe (the caller has checked read access)."""
    running = func.coalesce(func.sum(case((q.status_expression() == "running", 1), else_=0)), 0)
    count, changed, n_running, beat = session.execute(
        select(func.count(Experiment.id), func.max(Experiment.updated_at), running, func.max(Experiment.last_heartbeat))
        .where(q.project_scope(project.id, False))
    ).one()
    return Probe([int(count), _text(changed), int(n_running)], _text(beat), int(n_running))


def _text(value) -> str | None:
    return None if value is None else str(value)
