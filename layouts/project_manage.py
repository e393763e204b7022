import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components.project_manage_parts import share_link_block
from layouts.components.project_section import Section, open_section

dash.register_page(__name__, path_template="/<workspace>/<project>/manage", path="/project-manage",
                   title="Manage - Halley", order=45)


def layout(workspace: str = "", project: str = "", **_query):
    section = open_section(workspace, project, "manage")
    if not isinstance(section, Section):
        return section
    p = section.project
    readonly = not section.can_write
    return html.Div([
        section.header,
        dcc.Store(id="project-manage-project", data=p.id),
        dbc.Alert("You have read-only access to this project.", color="light", id="project-manage-readonly")
        if readonly else None,
        dbc.Card(dbc.CardBody([
            html.H5("Project visibility"),
            html.P("Public projects can be seen by anyone; private ones only by this workspace's collaborators.",
                   className="text-muted small"),
            dbc.RadioItems(
                id="project-manage-visibility",
                options=[{"label": "Private", "value": "private", "disabled": readonly},
                         {"label": "Public", "value": "public", "disabled": readonly}],
                value="public" if p.is_public else "private", inline=True,
            ),
            html.Div(id="project-manage-visibility-message", className="mt-2"),
        ]), className="mb-3"),
        dbc.Card(dbc.CardBody([
            html.H5("Shareable link"),
            html.P("A shareable link opens this project read-only for anyone who has it, signed in or not, "
                   "even when the project is private. A project has one link; deleting it stops it at once.",
                   className="text-muted small"),
            html.Div(share_link_block(p.share_token, section.can_write), id="project-manage-share"),
            html.Div(id="project-manage-share-message", className="mt-2"),
        ])),
    ])
