import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.errors import NotFound
from dashboard.services import projects, workspaces
from layouts.components.access import actor, not_found, sign_in_redirect
from layouts.components.artifacts import workspace_link
from layouts.components.workspace_dialogs import workspace_dialogs

dash.register_page(__name__, path_template="/<workspace>", path="/workspace", title="Workspace - Halley", order=70)

SORT_OPTIONS = [{"label": "Last updated", "value": "updated"}, {"label": "Name", "value": "name"},
                {"label": "Experiment count", "value": "experiments"}, {"label": "Creation date", "value": "created"}]
VISIBILITY_OPTIONS = [{"label": "Public", "value": "public"}, {"label": "Private", "value": "private"}]


MAX_SEARCH = 200


def listing_options(query: dict, owner_ids) -> dict:
    """The search, owner, visibility and sort the URL's query string asks for (what the page
    writes there, see callbacks/workspace.py); anything unknown is left at its default."""
    def text(name):
        value = query.get(name)
        return value if isinstance(value, str) else None

    owner = text("owner")
    return {
        "q": (text("q") or "")[:MAX_SEARCH],
        "owner": int(owner) if owner and owner.isdigit() and int(owner) in owner_ids else None,
        "visibility": text("visibility") if text("visibility") in ("public", "private") else None,
        "sort": text("sort") if text("sort") in {o["value"] for o in SORT_OPTIONS} else "updated",
        "ascending": text("dir") == "asc",
    }


def layout(workspace: str = "", **_query):
    from layouts.components.project_header import route_names

    names = route_names(workspace)
    if names is None:
        return not_found()
    me = actor()
    with context.db().session() as s:
        try:
            ws, role = workspaces.get_visible(s, me, names[0])
        except NotFound:
            if not me.is_authenticated:
                return sign_in_redirect(f"/{workspace}")
            return not_found(f"Workspace '{names[0]}' not found.")
        owners = projects.owners(s, me, ws.id)
    can_create = role is not None and role.can_write
    picked = listing_options(_query, {i for i, _n in owners})
    toolbar = dbc.Row([
        dbc.Col(dbc.Input(id="workspace-search", type="search", placeholder="Search name or description",
                          debounce=0.3, value=picked["q"], maxLength=MAX_SEARCH), md=4),
        dbc.Col(dcc.Dropdown(id="workspace-owner", options=[{"label": n, "value": i} for i, n in owners],
                             placeholder="Any owner", value=picked["owner"]), md=2),
        dbc.Col(dcc.Dropdown(id="workspace-visibility", options=VISIBILITY_OPTIONS, placeholder="Any visibility",
                             searchable=False, value=picked["visibility"]), md=2),
        dbc.Col(html.Div([
            dcc.Dropdown(id="workspace-sort", options=SORT_OPTIONS, value=picked["sort"], clearable=False,
                         searchable=False, className="flex-grow-1"),
            # an odd count of clicks sorts ascending
            dbc.Button(html.I(className="bi bi-sort-up" if picked["ascending"] else "bi bi-sort-down"),
                       id="workspace-sort-dir", color="light", className="border ms-1", title="Sort direction",
                       n_clicks=1 if picked["ascending"] else 0),
        ], className="d-flex"), md=2),
        dbc.Col(dbc.ButtonGroup([
            dbc.Button(html.I(className="bi bi-grid-3x3-gap"), id="workspace-view-grid", color="light",
                       className="border", title="Grid view"),
            dbc.Button(html.I(className="bi bi-list-ul"), id="workspace-view-list", color="light",
                       className="border", title="List view"),
        ]), md=2, className="text-end"),
    ], className="g-2 mb-3 align-items-center")
    return html.Div([
        dcc.Store(id="workspace-name", data=ws.name),
        dcc.Store(id="workspace-view-mode", storage_type="local"),
        dcc.Store(id="workspace-refresh", data=0),
        dcc.Store(id="workspace-target"),
        html.Div([
            html.Div([
                html.H3(ws.name, className="mb-0", id="workspace-title"),
                html.Span(f"your role: {role.value}" if role else "public projects", className="text-muted ms-3"),
                workspace_link(ws.name) if role else None,
            ], className="d-flex align-items-baseline"),
            dbc.Button([html.I(className="bi bi-plus-lg me-1"), "Create project"], id="workspace-create-open",
                       color="primary") if can_create else None,
        ], className="d-flex justify-content-between align-items-center mb-3"),
        toolbar,
        html.Div(id="workspace-message"),
        dcc.Loading(html.Div(id="workspace-projects"), delay_show=300),
        html.Div([
            html.Span(id="workspace-total", className="text-muted small"),
            dbc.Pagination(id="workspace-pagination", max_value=1, active_page=1, fully_expanded=False,
                           first_last=True, previous_next=True, size="sm", className="mb-0"),
        ], className="d-flex justify-content-between align-items-center mt-2"),
        workspace_dialogs(can_create),
    ])
