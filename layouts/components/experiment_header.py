"""The single-experiment page header: breadcrumbs, name (rename), key, status, times, tags,
the Stop and Reproduce buttons with their dialogs, and for a run of an optimizer sweep a link
to the sweep's view of the project."""
from __future__ import annotations

from urllib.parse import quote

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.services import experiment_page, experiments

STATUS_COLORS = {"running": "primary", "finished": "success", "stopped": "warning", "crashed": "danger"}


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h {minutes:02d}m {secs:02d}s" if hours else f"{minutes}m {secs:02d}s"


def status_badge(status: str, stop_requested: bool = False):
    label = "stop requested" if stop_requested and status == "running" else status
    return dbc.Badge(label, color=STATUS_COLORS.get(status, "secondary"), id="experiment-status", className="ms-2")


def stop_outcome(status: str):
    """What the "Stop requested" banner becomes once the run has ended."""
    text = "Stopped: the script has ended." if status == "stopped" else f"The script has ended: {status}."
    return dbc.Alert(text, color=STATUS_COLORS.get(status, "secondary"), className="py-1 my-2 small",
                     id="experiment-stop-outcome")


def tag_badges(tags: list[str], can_write: bool):
    out = []
    for tag in tags:
        remove = html.Button("×", id={"type": "experiment-tag-remove", "tag": tag}, className="btn-close-tag",
                             title=f"Remove tag {tag}") if can_write else None
        out.append(dbc.Badge([tag, remove], color="light", text_color="dark", className="me-1 experiment-tag border"))
    return out


def name_block(page: experiment_page.Page):
    exp = page.experiment
    title = html.H3(exp.name or exp.key, id="experiment-name", className="mb-0 text-break d-inline")
    if not page.can_write:
        return html.Div(title, id="experiment-name-block")
    return html.Div([
        html.Div([
            title,
            html.Button(html.I(className="bi bi-pencil"), id="experiment-rename-open", title="Rename",
                        className="btn btn-link btn-sm ms-1 p-0 align-baseline"),
        ], id="experiment-name-view"),
        html.Div(dbc.InputGroup([
            dbc.Input(id="experiment-rename-input", value=exp.name or "", placeholder=exp.key, maxLength=300,
                      debounce=False),
            dbc.Button("Save", id="experiment-rename-save", color="primary"),
            dbc.Button("Cancel", id="experiment-rename-cancel", color="secondary", outline=True),
        ], size="sm", style={"maxWidth": "32rem"}), id="experiment-rename-edit", style={"display": "none"}),
        dcc.Store(id="experiment-rename-done"),
    ], id="experiment-name-block")


def stop_controls(page: experiment_page.Page):
    if not (page.can_write and page.status == "running"):
        return None
    return html.Span([
        dbc.Button([html.I(className="bi bi-stop-circle me-1"), "Stop"], id="experiment-stop-open", color="danger",
                   outline=True, size="sm", disabled=page.experiment.stop_requested),
        dbc.Modal([
            dbc.ModalHeader(dbc.ModalTitle("Stop this experiment?")),
            dbc.ModalBody("The running script receives the request with its next heartbeat and raises "
                          "InterruptedExperiment (within about 10 seconds)."),
            dbc.ModalFooter([
                dbc.Button("Cancel", id="experiment-stop-cancel", color="secondary", outline=True),
                dbc.Button("Stop experiment", id="experiment-stop-confirm", color="danger"),
            ]),
        ], id="experiment-stop-modal", is_open=False),
    ])


def _command_block(lines: list[str], id: str):
    text = "\n".join(lines)
    return html.Div([
        dcc.Clipboard(target_id=id, className="btn btn-sm btn-outline-secondary float-end"),
        html.Pre(text, id=id, className="bg-light p-2 small mb-2"),
    ])


def reproduce_modal(page: experiment_page.Page, patch, notebook, base_url: str):
    exp = page.experiment
    env = dbc.Table(html.Tbody([
        html.Tr([html.Th("IP"), html.Td(exp.ip or "-")]),
        html.Tr([html.Th("Hostname"), html.Td(exp.host or "-")]),
        html.Tr([html.Th("User"), html.Td(exp.os_user or "-")]),
    ]), size="sm", className="mb-3", id="experiment-reproduce-env")
    link = experiment_page.commit_url(exp.git_remote, exp.git_commit)
    asset_url = f"/api/v1/experiments/{exp.key}/assets/"
    git_rows = [
        html.Tr([html.Th("Commit"), html.Td(html.A(exp.git_commit, href=link, target="_blank", rel="noopener noreferrer",
                                                   id="experiment-reproduce-commit-link")
                                            if link else (exp.git_commit or "-"))]),
        html.Tr([html.Th("Branch"), html.Td((exp.git_branch or "-").removeprefix("refs/heads/"))]),
        html.Tr([html.Th("Remote"), html.Td(exp.git_remote or "-")]),
        html.Tr([html.Th("Patch"), html.Td(html.A("Download patch", href=asset_url + patch.asset_id,
                                                  id="experiment-reproduce-patch")
                                           if patch else "No uncommitted changes were logged")]),
    ]
    if notebook is not None:
        git_rows.append(html.Tr([html.Th("Notebook"), html.Td(html.A(
            "Download notebook (.ipynb)", href=asset_url + notebook.asset_id, id="experiment-reproduce-notebook"))]))
    restore = experiment_page.restore_commands(exp, patch, base_url)
    run = experiment_page.run_command(exp)
    body = [
        html.H6("Environment"), env,
        html.H6("Git"), dbc.Table(html.Tbody(git_rows), size="sm", className="mb-3"),
        html.H6("Reproduce"),
        _command_block(restore, "experiment-reproduce-restore") if restore else
        html.P("No git information was logged.", className="text-muted"),
        html.H6("Run command"),
        _command_block([run], "experiment-reproduce-run") if run else
        html.P("No command line was logged.", className="text-muted"),
    ]
    return dbc.Modal([dbc.ModalHeader(dbc.ModalTitle("Reproduce")), dbc.ModalBody(body)],
                     id="experiment-reproduce-modal", is_open=False, size="lg")


def sweep_link(href: str | None):
    """The project page showing only this run's sweep, with its parallel coordinates."""
    if not href:
        return None
    return html.A([html.I(className="bi bi-bezier2 me-1"), "Sweep"], href=href, id="experiment-sweep-link",
                  className="btn btn-outline-secondary btn-sm",
                  title="This optimizer sweep's runs, with the swept parameters in parallel coordinates")


def header(page: experiment_page.Page, tags: list[str], patch, notebook, base_url: str, sweep_href: str | None = None):
    exp = page.experiment
    ws_href = f"/{quote(page.workspace, safe='')}"
    crumbs = html.Div([
        dcc.Link(page.workspace, href=ws_href, id="experiment-crumb-workspace"),
        html.Span(" / ", className="text-muted"),
        dcc.Link(page.project.name, href=f"{ws_href}/{quote(page.project.name, safe='')}",
                 id="experiment-crumb-project"),
        html.Span(" / ", className="text-muted"),
        html.Span(exp.key[:9], className="text-muted"),
    ], className="small mb-1", id="experiment-breadcrumbs")
    facts = html.Div([
        html.Span(["Key ", html.Code(exp.key, id="experiment-key")], className="me-3"),
        html.Span(["Started ", html.Span(experiment_page.started_label(exp.start_time), id="experiment-start")],
                  className="me-3"),
        html.Span(["Ended ", html.Span(experiment_page.started_label(exp.end_time), id="experiment-end")],
                  className="me-3"),
        html.Span(["Duration ", html.Span(format_duration(experiments.duration_s(exp)), id="experiment-duration")]),
    ], className="small text-muted mt-1")
    tag_input = dbc.Input(id="experiment-tag-input", placeholder="Add tag", size="sm", maxLength=200,
                          style={"width": "9rem"}, className="d-inline-block") if page.can_write else None
    return html.Div([
        crumbs,
        html.Div([
            html.Div([name_block(page), html.Span(status_badge(page.status, exp.stop_requested),
                                                  id="experiment-status-wrap")],
                     className="d-flex align-items-center flex-wrap"),
            html.Div([
                stop_controls(page),
                sweep_link(sweep_href),
                dbc.Button([html.I(className="bi bi-arrow-counterclockwise me-1"), "Reproduce"],
                           id="experiment-reproduce-open", color="secondary", outline=True, size="sm"),
            ], className="d-flex gap-2"),
        ], className="d-flex justify-content-between align-items-start"),
        html.Div(id="experiment-header-message"),
        facts,
        html.Div([html.Span(tag_badges(tags, page.can_write), id="experiment-tags"), tag_input],
                 className="mt-2 d-flex align-items-center flex-wrap gap-1"),
        reproduce_modal(page, patch, notebook, base_url),
    ], id="experiment-header", className="mb-3")
