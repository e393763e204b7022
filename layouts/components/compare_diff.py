"""Pieces of the compare page: value tables with differences highlighted, side-by-side text
diffs and the overlaid metric charts. All user content is rendered as text."""
from __future__ import annotations

import dash_bootstrap_components as dbc
import numpy as np
from dash import dcc, html

from dashboard.charts.downsample import downsample
from dashboard.charts.line import line_figure
from dashboard.charts.style import PALETTE
from dashboard.services.compare import Comparison, keyed_rows, packages_map, text_diff

DIFF_CLASSES = {"replace": "diff-changed", "delete": "diff-removed", "insert": "diff-added", "equal": "",
                "skip": "diff-skip"}


def value_table(title: str, a: dict, b: dict, labels: tuple[str, str], table_id: str, only_diff: bool = False):
    rows = keyed_rows(a, b)
    differing = sum(1 for r in rows if r[3])
    shown = [r for r in rows if r[3]] if only_diff else rows
    body = [html.Tr([html.Td(k, className="font-monospace"), html.Td(va), html.Td(vb)],
                    className="diff-row-changed" if differs else "")
            for k, va, vb, differs in shown]
    table = dbc.Table([html.Thead(html.Tr([html.Th("Name"), html.Th(labels[0]), html.Th(labels[1])])),
                       html.Tbody(body or [html.Tr(html.Td("No differences" if rows else "Nothing logged",
                                                           colSpan=3, className="text-muted"))])],
                      size="sm", bordered=True, className="compare-table mb-0", id=table_id)
    return section(title, f"{differing} of {len(rows)} differ", table)


def metrics_table(comparison: Comparison, labels: tuple[str, str]):
    names = sorted(set(comparison.a.metrics) | set(comparison.b.metrics))
    rows, differing = [], 0
    for name in names:
        ma, mb = comparison.a.metrics.get(name, {}), comparison.b.metrics.get(name, {})
        cells = [html.Td(name, className="font-monospace")]
        changed = False
        for stat in ("last", "min", "max"):
            va, vb = ma.get(stat, ""), mb.get(stat, "")
            changed |= va != vb
            cells += [html.Td(va), html.Td(vb)]
        differing += changed
        rows.append(html.Tr(cells, className="diff-row-changed" if changed else ""))
    head = html.Thead([
        html.Tr([html.Th("Metric", rowSpan=2)] + [html.Th(s, colSpan=2, className="text-center") for s in ("Last", "Min", "Max")]),
        html.Tr([html.Th(label, className="small") for _ in range(3) for label in labels]),
    ])
    table = dbc.Table([head, html.Tbody(rows or [html.Tr(html.Td("No metrics", colSpan=7, className="text-muted"))])],
                      size="sm", bordered=True, className="compare-table mb-0", id="compare-metrics")
    return section("Metrics", f"{differing} of {len(names)} differ", table)


def side_by_side(a_lines: list[str], b_lines: list[str], labels: tuple[str, str], table_id: str):
    rows = []
    for tag, an, at, bn, bt in text_diff(a_lines, b_lines):
        if tag == "skip":
            rows.append(html.Tr(html.Td("⋯", colSpan=4, className="text-center text-muted"), className="diff-skip"))
            continue
        cls = DIFF_CLASSES[tag]
        rows.append(html.Tr([
            html.Td(an or "", className="diff-lineno"), html.Td(at, className=f"diff-code {cls if an else ''}"),
            html.Td(bn or "", className="diff-lineno"), html.Td(bt, className=f"diff-code {cls if bn else ''}"),
        ]))
    if not rows:
        rows = [html.Tr(html.Td("Identical", colSpan=4, className="text-muted"))]
    return html.Table([html.Thead(html.Tr([html.Th("", className="diff-lineno"), html.Th(labels[0]),
                                           html.Th("", className="diff-lineno"), html.Th(labels[1])])),
                       html.Tbody(rows)], className="diff-table", id=table_id)


def code_section(comparison: Comparison, labels: tuple[str, str]):
    names = sorted(set(comparison.a.code) | set(comparison.b.code))
    blocks, differing = [], 0
    for i, name in enumerate(names):
        ta, tb = comparison.a.code.get(name), comparison.b.code.get(name)
        if ta is None and name in comparison.a.code or tb is None and name in comparison.b.code:
            body = html.P("Too large to compare here; download it from the Assets tab.", className="text-muted")
        else:
            differing += ta != tb
            body = side_by_side((ta or "").splitlines(), (tb or "").splitlines(), labels, f"compare-code-{i}")
        blocks.append(html.Div([html.H6(name, className="font-monospace mt-2"), body]))
    if not blocks:
        blocks = [html.P("No code was logged.", className="text-muted")]
    return section("Code", f"{differing} of {len(names)} files differ", html.Div(blocks, id="compare-code"))


def packages_section(comparison: Comparison, labels: tuple[str, str]):
    a, b = packages_map(comparison.a.packages), packages_map(comparison.b.packages)
    return value_table("Installed packages", a, b, labels, "compare-packages", only_diff=True)


def charts_section(comparison: Comparison, series: dict, labels: tuple[str, str]):
    exps = [
        {"key": comparison.a.experiment.key, "name": labels[0], "color": comparison.a.color},
        {"key": comparison.b.experiment.key, "name": labels[1], "color": comparison.b.color},
    ]
    ids = [comparison.a.experiment.id, comparison.b.experiment.id]
    if exps[0]["color"].lower() == exps[1]["color"].lower():  # e.g. both picked alike: keep the lines apart
        exps[1]["color"] = next(c for c in PALETTE if c != exps[0]["color"].lower())
    cards = []
    for name, by_id in series.items():
        traces = []
        for exp, exp_id in zip(exps, ids):
            s = by_id.get(exp_id)
            if s is None or not len(s.values):
                continue
            steps = np.where(np.isnan(s.steps), np.arange(len(s.steps)), s.steps)
            x, y = downsample(steps, s.values)
            traces.append({"exp": exp, "metric": name, "x": x, "y": y})
        fig = line_figure(traces, title=name)
        fig.update_layout(height=260)
        cards.append(dbc.Col(dcc.Graph(figure=fig, config={"displaylogo": False}, className="compare-chart"),
                             lg=6, className="mb-3"))
    if not cards:
        cards = [dbc.Col(html.P("No metric was logged by both experiments.", className="text-muted"))]
    return section("Charts", f"{len(cards)} shared metrics", dbc.Row(cards, id="compare-charts"))


def section(title: str, note: str, body):
    return dbc.Card([
        dbc.CardHeader([html.Span(title, className="fw-semibold"), html.Span(note, className="text-muted small ms-2")]),
        dbc.CardBody(body, className="p-2"),
    ], className="mb-3")
