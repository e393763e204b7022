"""The parts of the Artifacts pages: a workspace's artifact list, one artifact's versions, and
the experiment page's Artifacts tab."""
from __future__ import annotations

import json
from urllib.parse import quote

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.charts.numbers import fmt_bytes
from dashboard.services import artifacts
from dashboard.services.experiments import iso


def _when(value) -> str:
    text = iso(value) or ""
    return text[:16].replace("T", " ")


def artifacts_table(workspace: str, rows: list):
    if not rows:
        return html.P("No artifacts yet. Log one with comet_ml's Experiment.log_artifact.",
                      className="text-muted", id="artifacts-none")
    head = html.Thead(html.Tr([*(html.Th(h) for h in ("Name", "Type", "Latest version")),
                               *(html.Th(h, className="text-end") for h in ("Versions", "Size")),
                               html.Th("Updated", className="ps-4")]))
    body = html.Tbody([html.Tr([
        html.Td(dcc.Link(r.artifact.name, href=artifacts.artifact_href(workspace, r.artifact.name),
                         className="artifact-link")),
        html.Td(dbc.Badge(r.artifact.type, color="light", text_color="dark", className="border")),
        html.Td(r.latest.version if r.latest else "-"),
        html.Td(f"{r.count:,}", className="text-end"),
        html.Td(fmt_bytes(r.size), className="text-end"),
        html.Td(_when(r.updated_at), className="small text-muted ps-4"),
    ]) for r in rows])
    return dbc.Table([head, body], hover=True, size="sm", id="artifacts-table", className="align-middle")


def _badges(values: list[str], color: str, prefix: str = ""):
    return [dbc.Badge(prefix + v, color=color, className="me-1") for v in values]


def _experiment(link, deleted: bool = False) -> html.Span | dcc.Link:
    if link is None:
        return html.Span("a deleted experiment" if deleted else "(not visible to you)", className="text-muted")
    return dcc.Link(link.name or link.key[:12], href=link.href, className="artifact-experiment-link")


def _files(view) -> dbc.Table:
    rows = []
    for f in view.files:
        if f.remote_url:
            target = html.A(f.remote_url, href=f.remote_url, target="_blank", rel="noopener noreferrer",
                            className="small") if f.remote_url.startswith(("http://", "https://")) \
                else html.Span(f.remote_url, className="small font-monospace")
            size = "remote"
        else:
            target = html.A([html.I(className="bi bi-download me-1"), "Download"],
                            href=artifacts.file_href(view.version, f), className="small artifact-file-download",
                            download=f.file_name.rsplit("/", 1)[-1])
            size = fmt_bytes(f.size or 0)
        rows.append(html.Tr([html.Td(f.file_name, className="font-monospace small text-break"),
                             html.Td(size, className="text-end small text-nowrap"),
                             html.Td(target, className="text-break")]))
    if not rows:
        return html.P("No files.", className="text-muted small")
    # the same columns in every version's card
    widths = html.Colgroup([html.Col(style={"width": "45%"}), html.Col(style={"width": "8rem"}), html.Col()])
    head = html.Thead(html.Tr([html.Th("File", className="small"), html.Th("Size", className="small text-end"),
                               html.Th("")]))
    return dbc.Table([widths, head, html.Tbody(rows)], size="sm", className="mb-2 artifact-files",
                     style={"tableLayout": "fixed"})


def _metadata(values: dict):
    """A version's metadata as a table of keys and values (nested values as compact JSON)."""
    def shown(value) -> str:
        return value if isinstance(value, str) else json.dumps(value, sort_keys=True)

    return dbc.Table(html.Tbody([html.Tr([html.Th(k, className="small fw-normal text-muted", style={"width": "12rem"}),
                                          html.Td(shown(v), className="small font-monospace text-break")])
                                 for k, v in sorted(values.items())]),
                     size="sm", borderless=True, className="mb-2 artifact-metadata w-auto")


def version_cards(views: list) -> html.Div:
    cards = []
    for v in views:
        cards.append(dbc.Card([
            dbc.CardHeader(html.Div([
                html.Span(v.version.version, className="fw-semibold me-2"),
                *_badges(v.aliases, "primary"),
                *_badges(v.tags, "secondary", "#"),
                html.Span(v.version.state, className="badge bg-light text-dark border ms-auto me-2"),
                html.Span(fmt_bytes(v.version.size or 0), className="text-muted small"),
            ], className="d-flex align-items-center flex-wrap")),
            dbc.CardBody([
                html.Div(["Logged by ", _experiment(v.logged_by, v.logger_deleted), html.Span(f" on {_when(v.version.created_at)}",
                                                                            className="text-muted")],
                         className="small mb-1"),
                html.Div(["Used by ", *(_joined([_experiment(u) for u in v.used_by]) if v.used_by
                                        else [html.Span("no experiment yet", className="text-muted")])],
                         className="small mb-2"),
                _metadata(v.metadata) if v.metadata else None,
                _files(v),
            ]),
        ], className="mb-3 artifact-version-card"))
    return html.Div(cards, id="artifact-versions")


def _joined(items: list) -> list:
    out = []
    for i, item in enumerate(items):
        if i:
            out.append(", ")
        out.append(item)
    return out


def experiment_tab(session, page, _assets_dir):
    """The versions this experiment logged and the ones it used (workspace members only)."""
    from layouts.components.access import actor

    found = artifacts.experiment_artifacts(session, actor(), page.experiment)
    if found is None:
        return html.P("Artifacts are visible to members of the workspace.", className="text-muted",
                      id="experiment-artifacts")
    logged, used = found

    def table(title: str, rows: list):
        if not rows:
            return html.Div([html.H6(title), html.P("None.", className="text-muted small")])
        head = html.Thead(html.Tr([html.Th("Name"), html.Th("Type"), html.Th("Version")]))
        return html.Div([html.H6(title), dbc.Table([
            html.Colgroup([html.Col(style={"width": "50%"}), html.Col(style={"width": "25%"}), html.Col()]),
            head, html.Tbody([html.Tr([
                html.Td(dcc.Link(r.name, href=r.href)),
                html.Td(dbc.Badge(r.type, color="light", text_color="dark", className="border")),
                html.Td(r.version)]) for r in rows])], size="sm", className="align-middle",
            style={"tableLayout": "fixed"})])

    return html.Div([table("Logged", logged), table("Used", used)], id="experiment-artifacts")


def workspace_link(workspace: str):
    return dcc.Link([html.I(className="bi bi-box-seam me-1"), "Artifacts"],
                    href=f"/artifacts/{quote(workspace, safe='')}", id="workspace-artifacts-link",
                    className="btn btn-outline-secondary btn-sm ms-2")


def members_page(path: str, missing: str, load):
    """What ``load(session, actor)`` returns for a workspace member; a visitor who isn't signed
    in is sent to sign in first, anyone else who may not see it gets the not-found page."""
    from dashboard import context
    from dashboard.errors import NotFound
    from layouts.components.access import actor, not_found, sign_in_redirect

    me = actor()
    with context.db().session() as s:
        try:
            return load(s, me)
        except NotFound:
            if not me.is_authenticated:
                return sign_in_redirect(path)
            return not_found(missing)
