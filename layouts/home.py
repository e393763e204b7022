import dash
from dash import dcc

from dashboard import context
from dashboard.services import workspaces
from layouts.components.access import actor, require_signed_in

dash.register_page(__name__, path="/", title="Halley", order=0)


def layout(**_query):
    redirect = require_signed_in("/")
    if redirect is not None:
        return redirect
    with context.db().session() as s:
        name = workspaces.default_workspace_name(s, actor())
    return dcc.Location(id="page-redirect", href=f"/{name}" if name else "/workspaces", refresh=True)
