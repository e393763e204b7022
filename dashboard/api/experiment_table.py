"""CSV export of a project's experiment table: every matching row, streamed in chunks."""
from __future__ import annotations

import re

from flask import Response, request, stream_with_context

from dashboard import context
from dashboard.api import key_required_unless_readable, read_route
from dashboard.errors import Invalid
from dashboard.services import experiment_table as table, projects, view_state


@read_route("/workspaces/<workspace>/projects/<project>/experiments.csv", methods=["GET"])
def export_experiments_csv(workspace: str, project: str, actor):
    """The project's experiments as CSV, for the view state in ``?state=`` (the URL form of a
    view: filters, columns, order, sort); without it, the default columns of every experiment.
    Public projects need no key."""
    with context.db().session() as s, key_required_unless_readable(actor):
        p = projects.get_readable(s, actor, workspace, project)
    encoded = request.args.get("state")
    if encoded:
        state = view_state.decode_state(encoded)
        if state is None:
            raise Invalid("The state parameter is not a readable view")
    else:
        state = view_state.default_state()
    filename = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{workspace}-{p.name}") + ".csv"

    def generate():
        with context.db().session() as s:
            yield from table.iter_csv(s, p, state)

    return Response(stream_with_context(generate()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})
