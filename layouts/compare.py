import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import context
from dashboard.errors import HalleyError
from dashboard.services import compare
from layouts.components.access import actor, not_found
from layouts.components.compare_diff import (
    charts_section, code_section, metrics_table, packages_section, value_table,
)

dash.register_page(__name__, path_template="/<workspace>/<project>/compare", path="/compare",
                   title="Compare experiments - Halley", order=40)


def layout(workspace: str = "", project: str = "", experiments: str = "", **_query):
    if "/" in workspace or "/" in project:
        return not_found()
    with context.db().session() as s:
        try:
            comparison = compare.load(s, context.settings(), actor(), workspace, project, experiments)
        except HalleyError as exc:
            return not_found(exc.message)
        series = compare.metric_series(s, comparison, comparison.shared_metrics())
    a, b = comparison.a, comparison.b
    labels = (a.label, b.label)
    tags = ({t: "yes" for t in a.tags}, {t: "yes" for t in b.tags})
    return html.Div([
        dbc.Breadcrumb(items=[
            {"label": workspace, "href": f"/{workspace}"},
            {"label": project, "href": f"/{workspace}/{project}"},
            {"label": "Diff", "active": True},
        ], className="mb-1"),
        html.H3([
            "Diff ",
            dcc.Link(a.label, href=f"/{workspace}/{project}/{a.experiment.key}", id="compare-a"),
            html.Span(" vs ", className="text-muted"),
            dcc.Link(b.label, href=f"/{workspace}/{project}/{b.experiment.key}", id="compare-b"),
        ], className="mb-3"),
        value_table("Parameters", a.parameters, b.parameters, labels, "compare-parameters"),
        metrics_table(comparison, labels),
        charts_section(comparison, series, labels),
        value_table("Others", a.others, b.others, labels, "compare-others"),
        value_table("Tags", *tags, labels, "compare-tags"),
        value_table("System and environment", a.system, b.system, labels, "compare-system"),
        packages_section(comparison, labels),
        code_section(comparison, labels),
    ], id="compare-page")
