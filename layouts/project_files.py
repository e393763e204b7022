import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.services import projects
from layouts.components.access import actor
from layouts.components.project_files_table import files_table, github_block
from layouts.components.project_section import Section, open_section

dash.register_page(__name__, path_template="/<workspace>/<project>/files", path="/project-files",
                   title="Files - Halley", order=45)


def layout(workspace: str = "", project: str = "", **_query):
    section = open_section(workspace, project, "files")
    if not isinstance(section, Section):
        return section
    p = section.project
    with context.db().session() as s:
        items = projects.files(s, actor(), p.id)
    github_form = dbc.InputGroup([
        dbc.InputGroupText(html.I(className="bi bi-github")),
        dbc.Input(id="project-files-github-input", value=p.github_url or "", maxLength=300,
                  placeholder="https://github.com/owner/repository"),
        dbc.Button("Link repository", id="project-files-github-save", color="primary"),
    ], className="mb-1") if section.can_write else None
    return html.Div([
        section.header,
        dcc.Store(id="project-files-project", data=p.id),
        dbc.Card(dbc.CardBody([
            html.H6("GitHub repository"),
            html.Div(github_block(p.github_url), id="project-files-github"),
            github_form,
            html.Div(id="project-files-github-message"),
        ]), className="mb-3"),
        html.H5("Files", className="mt-2"),
        html.P("Source files the experiments ran and the code and file assets they logged.",
               className="text-muted small"),
        html.Div(files_table(items), id="project-files-list"),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle(id="project-files-modal-title")),
            dbc.ModalBody(id="project-files-modal-body"),
        ], id="project-files-modal", is_open=False, size="lg", scrollable=True),
    ])
