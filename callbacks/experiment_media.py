"""Graphics and Audio tabs: filtering, sorting, step stepping/playing, and audio playback
(clientside: a play button per waveform, click on the waveform to seek)."""
from __future__ import annotations

from itertools import groupby

from dash import MATCH, Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate

from callbacks.experiment import key_of
from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import COUNT, NUMBER, TEXT, list_of, optional
from dashboard.charts import waveform
from dashboard.errors import HalleyError
from dashboard.services import experiment_page
from layouts.components.experiment_media import AUDIO_PAGE_SIZE, PAGE_SIZE, audio_card, image_card


def _items(call: Call, ref, asset_type):
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    return page.experiment.key, experiment_page.media_items(call.session, page.experiment, asset_type)


def show_images(call: Call, sort, order, pattern, mode, step, _prev, _next, page, ref):
    trigger = ctx.triggered_id
    page = page or 0
    if trigger == "experiment-graphics-page-prev":
        page = max(0, page - 1)
    elif trigger == "experiment-graphics-page-next":
        page += 1
    else:
        page = 0
    key, items = _items(call, ref, "image")
    shown = experiment_page.filter_media(items, pattern=pattern or "", mode=mode or "exact", step=step,
                                         sort=sort or "name", descending=order == "desc")
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(page, pages - 1)
    chunk = shown[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    count = (f"{len(shown)} of {len(items)} images" + (f" · page {page + 1} of {pages}" if pages > 1 else ""))
    cards = [image_card(key, item) for item in chunk]
    return cards or html.P("No images match.", className="text-muted"), None, count, page


def step_control(_call: Call, _prev, _next, _tick, current, steps):
    """Previous/next (and the play timer) move the step filter through the logged steps."""
    steps = [str(s) for s in (steps or [])]
    if not steps:
        raise PreventUpdate
    trigger = ctx.triggered_id
    if current not in steps:
        return steps[-1] if trigger == "experiment-graphics-prev" else steps[0]
    i = steps.index(current)
    if trigger == "experiment-graphics-prev":
        return steps[max(0, i - 1)]
    if trigger == "experiment-graphics-timer":
        return steps[(i + 1) % len(steps)]
    return steps[min(len(steps) - 1, i + 1)]


def toggle_play(_call: Call, _n, disabled):
    start = bool(disabled)
    return not start, html.I(className="bi bi-pause-fill" if start else "bi bi-play-fill")


def show_audio(call: Call, sort, order, group, pattern, mode, step, ref):
    key, items = _items(call, ref, "audio")
    shown = experiment_page.filter_media(items, pattern=pattern or "", mode=mode or "exact", step=step,
                                         sort=sort or "name", descending=order == "desc")
    total = len(shown)
    shown = shown[:AUDIO_PAGE_SIZE]
    assets_dir = call.settings.assets_dir

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


def register(kit: CallbackKit) -> None:
    for kind in ("graphics", "audio"):
        for name in ("sort", "order", "filter", "filter-mode"):
            kit.value(f"experiment-{kind}-{name}.value", optional(TEXT))
        kit.value(f"experiment-{kind}-step.value", optional(TEXT | NUMBER))
    kit.value("experiment-audio-group.value", optional(TEXT))
    kit.value("experiment-graphics-page.data", optional(COUNT))
    kit.value("experiment-graphics-steps.data", optional(list_of(TEXT | NUMBER)))
    kit.callback(
        Output("experiment-graphics-grid", "children"), Output("experiment-graphics-message", "children"),
        Output("experiment-graphics-count", "children"), Output("experiment-graphics-page", "data"),
        Input("experiment-graphics-sort", "value"), Input("experiment-graphics-order", "value"),
        Input("experiment-graphics-filter", "value"), Input("experiment-graphics-filter-mode", "value"),
        Input("experiment-graphics-step", "value"), Input("experiment-graphics-page-prev", "n_clicks"),
        Input("experiment-graphics-page-next", "n_clicks"), State("experiment-graphics-page", "data"),
        State("experiment-ref", "data"), public=True,
        error=alert("experiment-graphics-message.children", id="experiment-graphics-error"),
        fallback={"experiment-graphics-grid.children": [], "experiment-graphics-count.children": ""},
    )(show_images)
    kit.callback(Output("experiment-graphics-step", "value"),
                 Input("experiment-graphics-prev", "n_clicks"), Input("experiment-graphics-next", "n_clicks"),
                 Input("experiment-graphics-timer", "n_intervals"), State("experiment-graphics-step", "value"),
                 State("experiment-graphics-steps", "data"), prevent_initial_call=True, public=True)(step_control)
    kit.callback(Output("experiment-graphics-timer", "disabled"), Output("experiment-graphics-play", "children"),
                 Input("experiment-graphics-play", "n_clicks"), State("experiment-graphics-timer", "disabled"),
                 prevent_initial_call=True, public=True)(toggle_play)
    kit.callback(
        Output("experiment-audio-list", "children"), Output("experiment-audio-message", "children"),
        Input("experiment-audio-sort", "value"), Input("experiment-audio-order", "value"),
        Input("experiment-audio-group", "value"), Input("experiment-audio-filter", "value"),
        Input("experiment-audio-filter-mode", "value"), Input("experiment-audio-step", "value"),
        State("experiment-ref", "data"), public=True,
        error=alert("experiment-audio-message.children", id="experiment-audio-error"),
        fallback={"experiment-audio-list.children": []},
    )(show_audio)
    kit.clientside(
        "function(n, click, id) { return window.halleyExperiment.audio(n, click, id); }",
        Output({"type": "experiment-audio-state", "index": MATCH}, "children"),
        Input({"type": "experiment-audio-play", "index": MATCH}, "n_clicks"),
        Input({"type": "experiment-audio-wave", "index": MATCH}, "clickData"),
        State({"type": "experiment-audio-play", "index": MATCH}, "id"),
        prevent_initial_call=True,
    )
