"""Graphics and Audio tabs: filtering, sorting, step stepping/playing, and audio playback
(clientside: a play button per waveform, click on the waveform to seek)."""
from __future__ import annotations

from itertools import groupby

from dash import MATCH, Input, Output, State, ctx, html, no_update

from dashboard import context
from dashboard.charts import waveform
from dashboard.errors import HalleyError
from dashboard.services import experiment_page
from dashboard.webauth import PUBLIC_CALLBACK_OUTPUTS
from layouts.components.access import error_alert
from layouts.components.experiment_media import AUDIO_PAGE_SIZE, PAGE_SIZE, audio_card, image_card

from callbacks.experiment import key_of


def _items(ref, asset_type):
    actor = context.current_actor()
    with context.db().session() as s:
        page = experiment_page.open_key(s, actor, key_of(ref))
        return page.experiment.key, experiment_page.media_items(s, page.experiment, asset_type)


def show_images(sort, order, pattern, mode, step, _prev, _next, page, ref):
    trigger = ctx.triggered_id
    page = int(page or 0)
    if trigger == "experiment-graphics-page-prev":
        page = max(0, page - 1)
    elif trigger == "experiment-graphics-page-next":
        page += 1
    else:
        page = 0
    try:
        key, items = _items(ref, "image")
        shown = experiment_page.filter_media(items, pattern=pattern or "", mode=mode or "exact", step=step,
                                             sort=sort or "name", descending=order == "desc")
    except HalleyError as exc:
        return [], error_alert(exc.message, id="experiment-graphics-error"), "", no_update
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(page, pages - 1)
    chunk = shown[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    count = (f"{len(shown)} of {len(items)} images" + (f" · page {page + 1} of {pages}" if pages > 1 else ""))
    cards = [image_card(key, item) for item in chunk]
    return cards or html.P("No images match.", className="text-muted"), None, count, page


def step_control(_prev, _next, _tick, current, steps):
    """Previous/next (and the play timer) move the step filter through the logged steps."""
    steps = [str(s) for s in (steps or [])]
    if not steps:
        return no_update
    trigger = ctx.triggered_id
    if current not in steps:
        return steps[-1] if trigger == "experiment-graphics-prev" else steps[0]
    i = steps.index(current)
    if trigger == "experiment-graphics-prev":
        return steps[max(0, i - 1)]
    if trigger == "experiment-graphics-timer":
        return steps[(i + 1) % len(steps)]
    return steps[min(len(steps) - 1, i + 1)]


def toggle_play(_n, disabled):
    start = bool(disabled)
    return not start, html.I(className="bi bi-pause-fill" if start else "bi bi-play-fill")


def show_audio(sort, order, group, pattern, mode, step, ref):
    try:
        key, items = _items(ref, "audio")
        shown = experiment_page.filter_media(items, pattern=pattern or "", mode=mode or "exact", step=step,
                                             sort=sort or "name", descending=order == "desc")
    except HalleyError as exc:
        return [], error_alert(exc.message, id="experiment-audio-error")
    total = len(shown)
    shown = shown[:AUDIO_PAGE_SIZE]
    assets_dir = context.settings().assets_dir

    def card(item):
        try:
            data = experiment_page.read_bytes(assets_dir, item, 50_000_000)
            t, low, high, duration = waveform.envelope(data)
            return audio_card(key, item, waveform.figure(t, low, high, duration), duration)
        except (ValueError, HalleyError):
            return audio_card(key, item, None, 0.0)

    if group in ("name", "step", "context"):
        keyfn = {"name": lambda i: i.name, "step": lambda i: i.step, "context": lambda i: i.context or ""}[group]
        ordered = sorted(shown, key=lambda i: (keyfn(i) is None, str(keyfn(i)) if group != "step" else (keyfn(i) or 0)))
        body = []
        for value, members in groupby(ordered, key=keyfn):
            body.append(html.H6(f"{group.title()}: {value if value not in (None, '') else '-'}",
                                className="mt-3 experiment-audio-group"))
            body += [card(m) for m in members]
    else:
        body = [card(m) for m in shown]
    note = html.P(f"Showing {len(shown)} of {total} audio files", className="small text-muted",
                  id="experiment-audio-count")
    return [note] + (body or [html.P("No audio matches.", className="text-muted")]), None


def register(app) -> None:
    for output in ("experiment-graphics-grid.children", "experiment-audio-list.children",
                   "experiment-graphics-step.value", "experiment-graphics-timer.disabled"):
        PUBLIC_CALLBACK_OUTPUTS.add(output)
    app.callback(
        Output("experiment-graphics-grid", "children"), Output("experiment-graphics-message", "children"),
        Output("experiment-graphics-count", "children"), Output("experiment-graphics-page", "data"),
        Input("experiment-graphics-sort", "value"), Input("experiment-graphics-order", "value"),
        Input("experiment-graphics-filter", "value"), Input("experiment-graphics-filter-mode", "value"),
        Input("experiment-graphics-step", "value"), Input("experiment-graphics-page-prev", "n_clicks"),
        Input("experiment-graphics-page-next", "n_clicks"), State("experiment-graphics-page", "data"),
        State("experiment-ref", "data"),
    )(show_images)
    app.callback(Output("experiment-graphics-step", "value"),
                 Input("experiment-graphics-prev", "n_clicks"), Input("experiment-graphics-next", "n_clicks"),
                 Input("experiment-graphics-timer", "n_intervals"), State("experiment-graphics-step", "value"),
                 State("experiment-graphics-steps", "data"), prevent_initial_call=True)(step_control)
    app.callback(Output("experiment-graphics-timer", "disabled"), Output("experiment-graphics-play", "children"),
                 Input("experiment-graphics-play", "n_clicks"), State("experiment-graphics-timer", "disabled"),
                 prevent_initial_call=True)(toggle_play)
    app.callback(
        Output("experiment-audio-list", "children"), Output("experiment-audio-message", "children"),
        Input("experiment-audio-sort", "value"), Input("experiment-audio-order", "value"),
        Input("experiment-audio-group", "value"), Input("experiment-audio-filter", "value"),
        Input("experiment-audio-filter-mode", "value"), Input("experiment-audio-step", "value"),
        State("experiment-ref", "data"),
    )(show_audio)
    app.clientside_callback(
        "function(n, click, id) { return window.halleyExperiment.audio(n, click, id); }",
        Output({"type": "experiment-audio-state", "index": MATCH}, "children"),
        Input({"type": "experiment-audio-play", "index": MATCH}, "n_clicks"),
        Input({"type": "experiment-audio-wave", "index": MATCH}, "clickData"),
        State({"type": "experiment-audio-play", "index": MATCH}, "id"),
        prevent_initial_call=True,
    )
