import dash
from dash import dcc, html
from flask import request

from dashboard import context
from dashboard.errors import NotFound
from dashboard.services import experiment_page, experiments, optimizer
from layouts.components.access import actor, not_found, sign_in_redirect
from layouts.components.experiment_header import header
from layouts.components.experiment_tabs import tab_bar
from layouts.components.project_header import project_path, route_names

dash.register_page(__name__, path_template="/<workspace>/<project>/<experiment_key>", path="/experiment",
                   title="Experiment - Halley", order=50)


def layout(workspace: str = "", project: str = "", experiment_key: str = "", tab: str = "charts", **_query):
    names = route_names(workspace, project, experiment_key)
    if names is None:
        return not_found()
    workspace, project, key = names
    me = actor()
    with context.db().session() as s:
        try:
            page = experiment_page.open_page(s, me, workspace, project, key)
        except NotFound:
            if not me.is_authenticated:
                return sign_in_redirect(project_path(workspace, project, f"/{key}"))
            return not_found(f"Experiment '{key}' not found.")
        present = experiment_page.tabs_with_data(s, page.experiment)
        patches = experiment_page.assets(s, page.experiment, ("git-patch",))
        notebooks = experiment_page.assets(s, page.experiment, ("notebook",))
        tags = experiments.tags(s, page.experiment)
        sweep = optimizer.sweep_of(s, me, page.experiment)
    sweep_href = optimizer.sweep_view_href(page.workspace, page.project.name, sweep) if sweep else None
    base_url = request.host_url if request else ""
    return html.Div([
        dcc.Store(id="experiment-ref", data={"key": page.experiment.key}),
        # the live poll (callbacks.experiment.refresh_status): only while the experiment runs
        dcc.Interval(id="experiment-status-poll", interval=5000, disabled=page.status != "running"),
        dcc.Store(id="experiment-live"),
        dcc.Store(id="experiment-live-idle", data={"changed": [str(page.experiment.updated_at), page.status],
                                                   "idle": 0}),
        header(page, tags, patches[-1] if patches else None, notebooks[-1] if notebooks else None, base_url,
               sweep_href),
        tab_bar(present, tab),
        html.Div(id="experiment-tab-content"),
    ], id="experiment-page")
