import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts.components.project_markdown import render_markdown
from layouts.components.project_section import Section, open_section

dash.register_page(__name__, path_template="/<workspace>/<project>/notes", path="/project-notes",
                   title="Notes - Halley", order=45)


def layout(workspace: str = "", project: str = "", **_query):
    section = open_section(workspace, project, "notes")
    if not isinstance(section, Section):
        return section
    p = section.project
    if not section.can_write:
        body = render_markdown(p.notes, id="project-notes-view", empty="This project has no notes yet.")
    else:
        body = html.Div([
            dbc.Tabs([
                dbc.Tab(dbc.Textarea(id="project-notes-editor", value=p.notes, rows=18, className="font-monospace",
                                     placeholder="No notes yet. Write what this project is about, its "
                                                 "questions and findings, in Markdown; then Save notes."),
                        label="Write", tab_id="write", tab_class_name="project-notes-tab-write"),
                dbc.Tab(html.Div(id="project-notes-preview", className="border rounded p-3 bg-white"),
                        label="Preview", tab_id="preview", tab_class_name="project-notes-tab-preview",
                        id="project-notes-preview-tab"),
            ], id="project-notes-tabs", active_tab="write", className="mb-2"),
            html.Div([
                dbc.Button([html.I(className="bi bi-save me-1"), "Save notes"], id="project-notes-save",
                           color="primary"),
                html.Span(id="project-notes-status", className="ms-3"),
            ], className="d-flex align-items-center"),
        ])
    return html.Div([
        section.header,
        dcc.Store(id="project-notes-project", data=p.id),
        body,
    ])
