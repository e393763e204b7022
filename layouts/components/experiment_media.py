"""The Graphics and Audio tabs: filter/sort controls, the cards (images and waveforms) and the
image lightbox.

Images and audio load from ``/api/v1/experiments/<key>/media/<asset_id>``, which checks read
access and serves only known image/audio types inline.
"""
from __future__ import annotations

from urllib.parse import quote

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.services import asset_pages, experiment_page

PAGE_SIZE = 60
AUDIO_PAGE_SIZE = 30


def media_url(key: str, asset_id: str) -> str:
    """Asset ids inside logged files (confusion-matrix examples) are data: quoted, they stay one
    path segment of the media route."""
    return f"/api/v1/experiments/{quote(key, safe='')}/media/{quote(asset_id, safe='')}"


FILTER_MODES = [{"label": "Substring", "value": "substring"}, {"label": "Exact", "value": "exact"},
                {"label": "Regex", "value": "regex"}]


def _name_filter(prefix: str):
    return html.Div(dbc.InputGroup([
        dbc.Input(id=f"{prefix}-filter", placeholder="Filter by name", type="search", debounce=True),
        dbc.Select(id=f"{prefix}-filter-mode", value="substring", options=FILTER_MODES, style={"maxWidth": "8rem"}),
    ], size="sm"), title="Substring: the name contains it (any case). Exact: the whole name. "
                         "Regex: a Python regular expression found in the name.")


def _sort_controls(prefix: str):
    return dbc.InputGroup([
        dbc.InputGroupText("Sort"),
        dbc.Select(id=f"{prefix}-sort", value="name", options=[{"label": "Name", "value": "name"},
                                                               {"label": "Step", "value": "step"}]),
        dbc.Select(id=f"{prefix}-order", value="asc", options=[{"label": "Ascending", "value": "asc"},
                                                               {"label": "Descending", "value": "desc"}]),
    ], size="sm")


def _step_options(steps: list[int]):
    return [{"label": "All steps", "value": "all"}] + [{"label": f"Step {s}", "value": str(s)} for s in steps]


def graphics_tab(session, page, _store):
    steps = asset_pages.image_steps(session, page.experiment)
    return html.Div([
        dbc.Row([
            dbc.Col(_sort_controls("experiment-graphics"), md=3),
            dbc.Col(_name_filter("experiment-graphics"), md=4),
            dbc.Col(html.Div([
                dbc.Select(id="experiment-graphics-step", value="all", options=_step_options(steps), size="sm",
                           style={"maxWidth": "10rem"}),
                dbc.Button(html.I(className="bi bi-skip-backward-fill"), id="experiment-graphics-prev", size="sm",
                           color="secondary", outline=True, title="Previous step"),
                dbc.Button(html.I(className="bi bi-play-fill"), id="experiment-graphics-play", size="sm",
                           color="secondary", outline=True, title="Play"),
                dbc.Button(html.I(className="bi bi-skip-forward-fill"), id="experiment-graphics-next", size="sm",
                           color="secondary", outline=True, title="Next step"),
            ], className="d-flex gap-1"), md=5),
        ], className="g-2 mb-2"),
        dbc.Switch(id="experiment-graphics-examples", value=False, className="small mb-2",
                   label="Show confusion-matrix example images"),
        dcc.Store(id="experiment-graphics-steps", data=steps),
        dcc.Store(id="experiment-graphics-page", data=0),
        dcc.Store(id="experiment-graphics-shown", data=[]),
        dcc.Store(id="experiment-graphics-lightbox", data=None),
        dcc.Interval(id="experiment-graphics-timer", interval=1200, disabled=True),
        html.Div(id="experiment-graphics-message"),
        html.Div(id="experiment-graphics-grid", className="d-flex flex-wrap gap-2"),
        html.Div([
            dbc.Button("‹ Previous", id="experiment-graphics-page-prev", size="sm", color="link"),
            html.Span(id="experiment-graphics-count", className="small text-muted mx-2"),
            dbc.Button("Next ›", id="experiment-graphics-page-next", size="sm", color="link"),
        ], className="d-flex align-items-center mt-2"),
        lightbox(),
    ])


def lightbox():
    """The enlarged image: previous/next step of the same name, previous/next image on the page."""
    def button(label, id, title):
        return dbc.Button(label, id=id, size="sm", color="secondary", outline=True, title=title, disabled=True)

    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(id="experiment-graphics-lightbox-title", className="text-break")),
        dbc.ModalBody(html.Div([
            html.Img(id="experiment-graphics-lightbox-img", className="experiment-lightbox-img"),
            html.Div(id="experiment-graphics-lightbox-step", className="small text-muted mt-2"),
        ], className="text-center")),
        dbc.ModalFooter([
            button("‹ Image", "experiment-graphics-lightbox-prev", "Previous image"),
            button("‹ Step", "experiment-graphics-lightbox-prev-step", "The same image at the step before"),
            button("Step ›", "experiment-graphics-lightbox-next-step", "The same image at the step after"),
            button("Image ›", "experiment-graphics-lightbox-next", "Next image"),
            html.A([html.I(className="bi bi-box-arrow-up-right me-1"), "Original"],
                   id="experiment-graphics-lightbox-original", target="_blank", rel="noopener",
                   className="btn btn-sm btn-link ms-auto"),
        ], className="d-flex"),
    ], id="experiment-graphics-lightbox-modal", size="xl", is_open=False, centered=True)


def image_card(key: str, item) -> html.Div:
    step = "" if item.step is None else f"step {item.step}"
    return html.Div([
        html.Img(src=media_url(key, item.asset_id), alt=item.name, title="Click to enlarge",
                 className="experiment-image", id={"type": "experiment-graphics-open", "asset": item.asset_id},
                 n_clicks=0, style={"cursor": "zoom-in"}),
        html.Div(item.name, className="small text-truncate", title=item.name),
        html.Div(step, className="small text-muted"),
    ], className="experiment-image-card border rounded p-1")


def audio_tab(session, page, _store):
    steps = experiment_page.steps_of(experiment_page.media_items(session, page.experiment, "audio"))
    return html.Div([
        dbc.Row([
            dbc.Col(_sort_controls("experiment-audio"), md=3),
            dbc.Col(dbc.InputGroup([dbc.InputGroupText("Group by"), dbc.Select(
                id="experiment-audio-group", value="none",
                options=[{"label": v, "value": k} for k, v in (("none", "None"), ("name", "Name"), ("step", "Step"),
                                                               ("context", "Context"))])], size="sm"), md=2),
            dbc.Col(_name_filter("experiment-audio"), md=4),
            dbc.Col(dbc.Select(id="experiment-audio-step", value="all", options=_step_options(steps), size="sm"), md=3),
        ], className="g-2 mb-2"),
        html.Div(id="experiment-audio-message"),
        html.Div(id="experiment-audio-list"),
    ])


def audio_card(key: str, item, fig, duration: float):
    return html.Div([
        html.Div([html.Span(item.name, className="small fw-semibold text-truncate me-2"),
                  html.Span(("" if item.step is None else f"step {item.step}") + (f" · {item.context}" if item.context else ""),
                            className="small text-muted")]),
        html.Div([
            dcc.Graph(figure=fig, id={"type": "experiment-audio-wave", "index": item.asset_id},
                      config={"displayModeBar": False}, className="experiment-audio-wave")
            if fig is not None else html.Div("(no waveform)", className="small text-muted"),
            html.Button(html.I(className="bi bi-play-fill"), id={"type": "experiment-audio-play", "index": item.asset_id},
                        className="btn btn-light btn-sm experiment-audio-play", title="Play"),
        ], className="experiment-audio-visual"),
        html.Audio(src=media_url(key, item.asset_id), id=f"experiment-audio-el-{item.asset_id}", preload="none"),
        html.Span(id={"type": "experiment-audio-state", "index": item.asset_id}, className="d-none"),
        html.Span(f"{duration:.2f} s", className="small text-muted"),
    ], className="experiment-audio-card border rounded p-2 mb-2")
