import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.services import archive
from layouts.components.access import actor
from layouts.components.confirm_dialog import confirm_dialog
from layouts.components.project_archive_table import archive_table
from layouts.components.project_section import Section, open_section

dash.register_page(__name__, path_template="/<workspace>/<project>/archive", path="/project-archive",
                   title="Archive - Halley", order=45)


def layout(workspace: str = "", project: str = "", **_query):
    section = open_section(workspace, project, "archive")
    if not isinstance(section, Section):
        return section
    p = section.project
    with context.db().session() as s:
        items = archive.list_archived(s, actor(), p.id)
    actions = html.Div([
        dbc.Button([html.I(className="bi bi-arrow-counterclockwise me-1"), "Restore"], id="project-archive-restore",
                   color="primary", size="sm", disabled=True),
        dbc.Button([html.I(className="bi bi-trash me-1"), "Delete permanently"], id="project-archive-delete",
                   color="danger", size="sm", outline=True, disabled=True),
        html.Span(id="project-archive-selected", className="text-muted small ms-2"),
    ], className="d-flex align-items-center gap-2 mb-2") if section.can_write else None
    return html.Div([
        section.header,
        dcc.Store(id="project-archive-project", data=p.id),
        html.P("Archived experiments are hidden from the project's table. Restore them, or delete them "
               "permanently with everything they logged.", className="text-muted small"),
        actions,
        html.Div(id="project-archive-message"),
        html.Div(archive_table(section.workspace, p.name, items, section.can_write), id="project-archive-list"),
        confirm_dialog("project-archive", "Delete permanently?", "Delete permanently",
                       body_id="project-archive-confirm-body", confirm_id="project-archive-confirm"),
    ])
