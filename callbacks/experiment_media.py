"""Graphics, Audio and Assets tabs: filtering, sorting, step stepping/playing, the image lightbox,
audio playback (clientside: a play button per waveform, click on the waveform to seek), and the
Assets grid's rows and text previews."""
from __future__ import annotations

from itertools import groupby
from urllib.parse import quote

from dash import ALL, MATCH, Input, Output, State, ctx, html
from dash.exceptions import PreventUpdate

from callbacks.experiment import key_of
from callbacks.kit import Call, CallbackKit, alert, plain_text
from callbacks.shapes import ASSET_ID, COUNT, FLAG, LIST, NUMBER, SCALAR, TEXT, list_of, optional, record
from dashboard.charts import waveform
from dashboard.errors import HalleyError
from dashboard.services import asset_pages, assets as asset_files, experiment_page, experiments
from layouts.components.experiment_media import AUDIO_PAGE_SIZE, PAGE_SIZE, audio_card, image_card, media_url
from layouts.components.experiment_tables import ASSET_TYPE_LABELS, size_label


def _items(call: Call, ref, asset_type):
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    return page.experiment.key, experiment_page.media_items(call.session, page.experiment, asset_type)


def show_images(call: Call, sort, order, pattern, mode, step, examples, _prev, _next, page, ref):
    trigger = ctx.triggered_id
    page = page or 0
    if trigger == "experiment-graphics-page-prev":
        page = max(0, page - 1)
    elif trigger == "experiment-graphics-page-next":
        page += 1
    else:
        page = 0
    found = experiment_page.open_key(call.session, call.actor, key_of(ref))
    key = found.experiment.key
    shown = asset_pages.image_page(call.session, found.experiment, pattern=pattern, mode=mode or "substring",
                                   step=step, sort=sort or "name", descending=order == "desc", page=page,
                                   page_size=PAGE_SIZE, examples=bool(examples))
    count = f"{shown.matching:,} of {shown.total:,} images"
    if shown.pages > 1:
        count += f" · page {shown.page + 1:,} of {shown.pages:,}"
    if shown.examples and not examples:
        count += f" · {shown.examples:,} confusion-matrix example images hidden"
    cards = [image_card(key, item) for item in shown.items]
    return (cards or html.P("No images match.", className="text-muted"), None, count, shown.page,
            [item.asset_id for item in shown.items])


LIGHTBOX_BUTTONS = ("experiment-graphics-lightbox-prev", "experiment-graphics-lightbox-next",
                    "experiment-graphics-lightbox-prev-step", "experiment-graphics-lightbox-next-step")


def lightbox(call: Call, _opens, _prev, _next, _prev_step, _next_step, current, shown, ref):
    """Opens the lightbox on a clicked image and moves it: over the same name's steps, or
    across the images on the page. Ids from the browser are looked up in this experiment only."""
    trigger = ctx.triggered_id
    if isinstance(trigger, dict):
        if not (ctx.triggered and ctx.triggered[0].get("value")):
            raise PreventUpdate  # a card was drawn, not clicked
        target = trigger["asset"]
    elif trigger in LIGHTBOX_BUTTONS and current:
        target = current
    else:
        raise PreventUpdate
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    image = asset_pages.lightbox_image(call.session, page.experiment, target)
    shown = shown or []
    if trigger in ("experiment-graphics-lightbox-prev-step", "experiment-graphics-lightbox-next-step"):
        step_to = image.earlier if trigger.endswith("prev-step") else image.later
        if step_to is None:
            raise PreventUpdate
        image = asset_pages.lightbox_image(call.session, page.experiment, step_to)
    elif trigger in ("experiment-graphics-lightbox-prev", "experiment-graphics-lightbox-next"):
        if image.asset_id not in shown:
            raise PreventUpdate
        i = shown.index(image.asset_id) + (-1 if trigger.endswith("prev") else 1)
        if not 0 <= i < len(shown):
            raise PreventUpdate
        image = asset_pages.lightbox_image(call.session, page.experiment, shown[i])
    at = shown.index(image.asset_id) if image.asset_id in shown else -1
    src = media_url(page.experiment.key, image.asset_id)
    step = "no step" if image.step is None else f"step {image.step:,}"
    where = f"{step} · {image.position:,} of {image.count:,} with this name"
    return (True, image.asset_id, src, image.name, where, at <= 0, at < 0 or at >= len(shown) - 1,
            image.earlier is None, image.later is None, src)


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
    shown = experiment_page.filter_media(items, pattern=pattern or "", mode=mode or "substring", step=step,
                                         sort=sort or "name", descending=order == "desc")
    total = len(shown)
    shown = shown[:AUDIO_PAGE_SIZE]
    store = asset_files.store(call.settings)

    def card(item):
        try:
            data = experiment_page.read_bytes(store, item, 50_000_000)
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


def asset_rows(call: Call, request, search, mode, type_filter, ref):
    """A block of the Assets grid's rows (the infinite row model asks as the user scrolls)."""
    if not request:
        raise PreventUpdate
    page = experiment_page.open_key(call.session, call.actor, key_of(ref))
    exp = page.experiment
    start, end = request.get("startRow") or 0, request.get("endRow") or 100
    rows, total = asset_pages.asset_rows(call.session, exp, start, end, request.get("sortModel"), search=search,
                                         mode=mode or "substring", type_filter=type_filter)
    base = f"/api/v1/experiments/{quote(exp.key, safe='')}/assets/"
    data = [{
        "asset_id": a.asset_id, "name": a.file_name,
        "type": ASSET_TYPE_LABELS.get(shown := asset_pages.shown_type(a), shown),
        "size": a.size, "size_label": "remote" if a.remote_url else size_label(a.size), "step": a.step,
        "created": experiments.as_utc(a.created_at).strftime("%Y-%m-%d %H:%M:%S") if a.created_at else "",
        "download": "" if a.remote_url else f"[Download]({base}{a.asset_id})",
        "remote_url": a.remote_url or "",
        "preview": "Preview" if experiment_page.previewable(a.file_name) and not a.remote_url else "",
    } for a in rows]
    return {"rowData": data, "rowCount": total}, f"{total:,} asset{'s' if total != 1 else ''}", None


def preview_asset(call: Call, cell, ref):
    """A click on a row's Preview cell: the file's first 200 KB as text."""
    if not cell or cell.get("colId") != "preview" or not cell.get("value"):
        raise PreventUpdate
    exp = experiments.get_readable(call.session, call.actor, key_of(ref))
    asset = experiment_page.get_asset(call.session, exp, cell.get("rowId") or "")
    if asset.remote_url:
        return True, asset.file_name, f"A remote asset: its data is kept at {asset.remote_url}"
    if not experiment_page.previewable(asset.file_name):
        return True, asset.file_name, "No preview for this file type."
    text, cut = experiment_page.read_text(asset_files.store(call.settings), asset)
    return True, asset.file_name, text + ("\n… (preview truncated)" if cut else "")


REFRESH_ASSETS_JS = """
function () {
    if (window.halleyTable) { window.halleyTable.refresh('experiment-assets-grid', true, false); }
    return window.dash_clientside.no_update;
}
"""


def register(kit: CallbackKit) -> None:
    for kind in ("graphics", "audio"):
        for name in ("sort", "order", "filter", "filter-mode"):
            kit.value(f"experiment-{kind}-{name}.value", optional(TEXT))
        kit.value(f"experiment-{kind}-step.value", optional(TEXT | NUMBER))
    kit.value("experiment-audio-group.value", optional(TEXT))
    kit.value("experiment-graphics-page.data", optional(COUNT))
    kit.value("experiment-graphics-steps.data", optional(list_of(TEXT | NUMBER)))
    kit.value("experiment-graphics-examples.value", optional(FLAG))
    kit.value("experiment-graphics-shown.data", optional(list_of(ASSET_ID, PAGE_SIZE)))
    kit.value("experiment-graphics-lightbox.data", optional(ASSET_ID))
    kit.pattern("experiment-graphics-open", asset=ASSET_ID)
    for name in ("search", "mode", "type"):
        kit.value(f"experiment-assets-{name}.value", optional(TEXT))
    kit.value("experiment-assets-grid.getRowsRequest",
              optional(record(startRow=optional(COUNT), endRow=optional(COUNT), sortModel=optional(LIST))))
    kit.value("experiment-assets-grid.cellClicked",
              optional(record(colId=optional(TEXT), rowId=optional(ASSET_ID), value=optional(SCALAR))))
    kit.callback(
        Output("experiment-graphics-grid", "children"), Output("experiment-graphics-message", "children"),
        Output("experiment-graphics-count", "children"), Output("experiment-graphics-page", "data"),
        Output("experiment-graphics-shown", "data"),
        Input("experiment-graphics-sort", "value"), Input("experiment-graphics-order", "value"),
        Input("experiment-graphics-filter", "value"), Input("experiment-graphics-filter-mode", "value"),
        Input("experiment-graphics-step", "value"), Input("experiment-graphics-examples", "value"),
        Input("experiment-graphics-page-prev", "n_clicks"),
        Input("experiment-graphics-page-next", "n_clicks"), State("experiment-graphics-page", "data"),
        State("experiment-ref", "data"), public=True,
        error=alert("experiment-graphics-message.children", id="experiment-graphics-error"),
        fallback={"experiment-graphics-grid.children": [], "experiment-graphics-count.children": "",
                  "experiment-graphics-shown.data": []},
    )(show_images)
    kit.callback(
        Output("experiment-graphics-lightbox-modal", "is_open"), Output("experiment-graphics-lightbox", "data"),
        Output("experiment-graphics-lightbox-img", "src"), Output("experiment-graphics-lightbox-title", "children"),
        Output("experiment-graphics-lightbox-step", "children"),
        Output("experiment-graphics-lightbox-prev", "disabled"), Output("experiment-graphics-lightbox-next", "disabled"),
        Output("experiment-graphics-lightbox-prev-step", "disabled"),
        Output("experiment-graphics-lightbox-next-step", "disabled"),
        Output("experiment-graphics-lightbox-original", "href"),
        Input({"type": "experiment-graphics-open", "asset": ALL}, "n_clicks"),
        *(Input(b, "n_clicks") for b in LIGHTBOX_BUTTONS),
        State("experiment-graphics-lightbox", "data"), State("experiment-graphics-shown", "data"),
        State("experiment-ref", "data"), prevent_initial_call=True, public=True,
        error=alert("experiment-graphics-lightbox-step.children"),
        fallback={"experiment-graphics-lightbox-modal.is_open": True,
                  "experiment-graphics-lightbox-title.children": "Image"},
    )(lightbox)
    kit.callback(Output("experiment-assets-grid", "getRowsResponse"), Output("experiment-assets-count", "children"),
                 Output("experiment-assets-message", "children"),
                 Input("experiment-assets-grid", "getRowsRequest"), State("experiment-assets-search", "value"),
                 State("experiment-assets-mode", "value"), State("experiment-assets-type", "value"),
                 State("experiment-ref", "data"), prevent_initial_call=True, public=True,
                 error=alert("experiment-assets-message.children", id="experiment-assets-error"),
                 fallback={"experiment-assets-grid.getRowsResponse": {"rowData": [], "rowCount": 0},
                           "experiment-assets-count.children": ""})(asset_rows)
    kit.clientside(REFRESH_ASSETS_JS, Output("experiment-assets-filters", "id"),
                   Input("experiment-assets-search", "value"), Input("experiment-assets-mode", "value"),
                   Input("experiment-assets-type", "value"), prevent_initial_call=True)
    kit.callback(Output("experiment-asset-preview-modal", "is_open"),
                 Output("experiment-asset-preview-title", "children"),
                 Output("experiment-asset-preview-body", "children"),
                 Input("experiment-assets-grid", "cellClicked"), State("experiment-ref", "data"),
                 prevent_initial_call=True, public=True, error=plain_text("experiment-asset-preview-body.children"),
                 fallback={"experiment-asset-preview-modal.is_open": True,
                           "experiment-asset-preview-title.children": "Preview"})(preview_asset)
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
