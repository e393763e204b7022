import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.errors import NotFound
from dashboard.services import experiment_table as table, project_live, project_views, view_state
from layouts.components.access import actor
from layouts.components.experiment_table import dialogs, grid, toolbar
from layouts.components.project_header import project_path
from layouts.components.project_section import Section, open_section
from layouts.components.query_builder import query_bar
from layouts.components.view_menu import view_menu

dash.register_page(__name__, path_template="/<workspace>/<project>", path="/project",
                   title="Project - Halley", order=60)


def no_experiments(can_write: bool):
    """What an empty project's table says to do next."""
    if not can_write:
        return dbc.Alert("No experiments in this project yet.", color="light", className="border py-2 mb-2",
                         id="project-experiments-empty")
    return dbc.Alert([
        html.Span("No experiments yet. Log your first run with the SDK: Add experiment gives you code ready to "
                  "paste, and the run shows up in this table."),
        dbc.Button([html.I(className="bi bi-plus-lg me-1"), "Add experiment"], id="project-empty-add",
                   color="primary", size="sm", className="ms-3"),
    ], color="light", className="border py-2 mb-2 d-flex align-items-center", id="project-experiments-empty")


def layout(workspace: str = "", project: str = "", view: str | None = None, **_query):
    """The Experiments section. ``?view=<id>`` opens a saved view (``builtin``: the built-in
    one), else the project's default view; unsaved changes ride in the URL's #hash."""
    section = open_section(workspace, project, "experiments")
    if not isinstance(section, Section):
        return section
    p, me = section.project, actor()
    with context.db().session() as s:
        views = project_views.list_views(s, me, p)
        queries = project_views.list_queries(s, me, p)
        current = None
        if view and view.isdigit():
            try:
                current = project_views.get_view(s, me, p, int(view))
            except NotFound:
                current = None
        elif view != "builtin":
            current = project_views.default_view(s, me, p)
        state = project_views.view_state(current) if current is not None else view_state.default_state()
        hidden = set(table.constant_columns(s, p, state)) if state["hideConstant"] else set()
        live = project_live.probe(s, p)
    base_url = project_path(section.workspace, p.name)
    saved = {"viewId": current.id if current else None, "name": current.name if current else None, "state": state}
    return html.Div([
        dcc.Store(id="project-url-hash"),
        dcc.Store(id="project-ctx", data={"workspace": section.workspace, "project": p.name,
                                          "canWrite": section.can_write, "base": base_url}),
        dcc.Store(id="project-state", data=state),
        dcc.Store(id="project-saved", data=saved),
        dcc.Store(id="project-hash"),
        dcc.Store(id="project-refresh"),
        dcc.Store(id="project-attrs"),
        dcc.Store(id="project-group-open"),
        dcc.Store(id="project-table-asked"),  # the table has its first rows: the panels follow
        dcc.Store(id="project-panels-brush"),
        # live updates while experiments run (callbacks/project_live.py)
        dcc.Store(id="project-live", data={**live.as_json(), "idle": 0}),
        dcc.Store(id="project-live-rows"),
        dcc.Interval(id="project-live-poll", interval=project_live.FASTEST_MS, disabled=live.running == 0),
        section.header,
        html.Div([
            view_menu(views, current, base_url, section.can_write),
        ], className="d-flex align-items-center mb-2"),
        query_bar(queries, state.get("queryId"), section.can_write),
        html.Div([
            dbc.Button([html.I(className="bi bi-bar-chart-line me-1"), "Panels"], id="project-panels-toggle",
                       size="sm", color="link", className="px-0 text-decoration-none"),
            html.Span(id="project-count", className="small text-muted ms-2"),
        ], className="d-flex align-items-center"),
        dbc.Collapse(html.Div(id="project-panels", className="project-panels mb-2"),
                     id="project-panels-collapse", is_open=state.get("panelsOpen", True)),
        toolbar(state, section.can_write, me.is_authenticated),
        no_experiments(section.can_write) if live.data[0] == 0 else None,
        html.Div(id="project-groups", className="small text-muted mb-1"),
        grid(state, base_url, section.can_write, hidden),
        dialogs(),
        dbc.Toast(id="project-toast", header="Experiments", is_open=False, dismissable=True, duration=4000,
                  style={"position": "fixed", "bottom": 16, "right": 16, "zIndex": 2000}),
    ], id="project-page")
