"""Project panels: the area, the gallery and editor, the figures, zoom re-reads, and the
parallel-coordinates brush that narrows the experiment table.

Panels live in the view state (``project-state["panels"]``): ``project-panels-list`` is the
page's copy and every change is written back with a Patch, so the URL hash and saved views
carry them. Every panel draws on its own, in its own request: a pattern-matched callback per
graph, fired by the page's refresh (a filter change) and by its card being rendered. Adding,
editing or removing a panel sets only that card's cell (or the grid's tail), so the other panels
are neither asked for again nor mounted and drawn again in the browser. A line panel is read again for the x range of its zoom (``X_ZOOM_JS`` keeps y-only
zooms and autosizes from reaching the server). When a request is superseded (the filters
changed again), the page keeps only the answer to the latest one.
"""
from __future__ import annotations

import hashlib
import json
import time
import uuid

from dash import ALL, MATCH, Input, Output, Patch, State, ctx, no_update
from dash.exceptions import PreventUpdate

from callbacks.kit import Call, CallbackKit, alert, figure, plain_text, toast
from callbacks.project_table import load_project
from callbacks.shapes import ANY, COUNT, FLAG, LIST, NUMBER, OBJECT, PANEL_ID, TEXT, list_of, matching, optional, record
from dashboard.auth import can_write_project
from dashboard.charts.line import zoom_range
from dashboard.charts.parcoords import constraint_updates
from dashboard.errors import HalleyError
from dashboard.panel_types import REGISTRY
from dashboard.query import describe_rule
from dashboard.services import panels as svc, project_views, view_state
from dashboard.services.table_groups import clean_group_by
from layouts.components.panel_gallery import template_cards
from layouts.components.panels import brush_bar, panel_card, panel_cards, panel_cell, panel_tail, panels_area
from layouts.components.query_builder import query_options

HIDDEN = {"display": "none"}
# The panel editor's controls (``project-editor-<control>``): the common ones, then every
# type's editor fields; the callbacks that read them take them in this order.
EDITOR_FIELDS = [f for p in REGISTRY.values() for f in p.fields]
EDITOR_CONTROLS = ("name", "legend", "outliers", *(f.control for f in EDITOR_FIELDS))
LIST_CONTROLS = {f.control for f in EDITOR_FIELDS if f.multi}


def view_filters(state) -> dict | None:
    """The filters of a project page's view state."""
    return (state or {}).get("filters") if isinstance(state, dict) else None


def _cache(call: Call):
    return svc.open_cache(call.settings.cache_dir)


# --- the area and the list -----------------------------------------------------------------

def render_area(call: Call, table_asked, url_hash, ctx_data, state):
    """The area, with the panels of the view the page opens: the one in the URL's #hash when it
    holds one (the state the page is about to take from it), else the page's state. Read from
    ``project-state`` alone, a link would race: an area drawn before the hash is applied comes
    with the default panels, and its list, once in the page, is written back over the link's.

    Drawn once the experiment table has its first rows (``project-table-asked``): the panels'
    figure requests would otherwise queue ahead of the table's (a browser sends six requests at
    a time to a server) and their drawing hold the browser while the rows wait to be shown."""
    if not table_asked:
        raise PreventUpdate
    project = load_project(call, ctx_data)  # the area shows only for a project the caller may read
    opening = view_state.decode_state((url_hash or "").lstrip("#")) or state
    return panels_area(svc.normalize_panels((opening or {}).get("panels")), call.actor.is_authenticated,
                       can_add=can_write_project(call.session, call.actor, project))


# The table's first answer (its count), once: the panels area is drawn after it (``render_area``).
TABLE_ASKED_JS = """
function (count, asked) { return asked || !count ? window.dash_clientside.no_update : true; }
"""


def list_from_state(_call: Call, state, current):
    panels = svc.normalize_panels((state or {}).get("panels"))
    if panels == (current or []):
        raise PreventUpdate
    return panels


def state_from_list(_call: Call, panels, state):
    if svc.normalize_panels(panels) == svc.normalize_panels((state or {}).get("panels")):
        raise PreventUpdate
    patch = Patch()
    patch["panels"] = svc.normalize_panels(panels)
    return patch


def grid_changes(drawn: list[dict], panels: list[dict]) -> list[tuple] | None:
    """How to turn the grid of the ``drawn`` panels into that of ``panels`` one card at a time:
    ``("add", panel)``, ``("remove", index)`` and ``("replace", index, panel)`` steps, or None
    when the whole grid must be drawn again (an empty grid on either side, a new order)."""
    if not drawn or not panels:
        return None
    old_ids, new_ids = [p["id"] for p in drawn], [p["id"] for p in panels]
    kept = [pid for pid in old_ids if pid in new_ids]
    if kept != [pid for pid in new_ids if pid in old_ids] or new_ids[:len(kept)] != kept:
        return None  # reordered, or a new panel not at the end
    steps: list[tuple] = [("remove", i) for i in reversed(range(len(old_ids))) if old_ids[i] not in new_ids]
    before = {p["id"]: p for p in drawn}
    steps += [("replace", i, p) for i, p in enumerate(panels[:len(kept)]) if before[p["id"]] != p]
    steps += [("add", p) for p in panels[len(kept):]]
    return steps


def render_cards(call: Call, panels, drawn):
    """The grid for the page's panels, changing only the cards of panels that changed: a changed
    or removed panel's cell gets its new card (or none), added panels fill the grid's tail. The
    grid itself is drawn again only for a new order, or from or to no panels at all."""
    panels, drawn = svc.normalize_panels(panels), svc.normalize_panels(drawn)
    if panels == drawn:
        raise PreventUpdate
    return grid_update(call, panels, drawn, ctx.outputs_list[2], ctx.outputs_list[3])


def grid_update(call: Call, panels: list[dict], drawn: list[dict], cell_outputs, tail_outputs) -> tuple:
    """The grid's children, the panels it then shows, its cells' and tails' children (in the
    order of ``cell_outputs`` and ``tail_outputs``, a wildcard output's ids) for ``panels``."""
    cells = [o["id"]["index"] for o in cell_outputs]
    tails = [o["id"]["index"] for o in tail_outputs]
    keep = call.actor.is_authenticated
    steps = grid_changes(drawn, panels)
    if steps is None or not tails or any(step[0] == "add" and step[1]["id"] in cells for step in steps):
        return panel_cards(panels, keep), panels, [no_update] * len(cells), [no_update] * len(tails)
    changed: dict[str, object] = {}
    for step in steps:
        if step[0] == "remove":
            changed[drawn[step[1]]["id"]] = None
        elif step[0] == "replace":
            changed[step[2]["id"]] = panel_card(step[2], keep)
    added = [step[1] for step in steps if step[0] == "add"]
    tail_values = [no_update] * len(tails)
    if added:
        last = max(tails)  # the innermost tail: the grid's end
        tail_values[tails.index(last)] = [panel_cell(p, keep) for p in added] + [panel_tail(last + 1)]
    return no_update, panels, [changed.get(pid, no_update) for pid in cells], tail_values


# --- figures ------------------------------------------------------------------------------

X_ZOOM_JS = """
function (relayout, current) {
    // Only a change of the x range reaches the server: y-only zooms stay in the browser, and
    // an autosize (a resize, or the first draw settling late) keeps the zoom the panel shows.
    const ev = relayout || {};
    const noUpdate = window.dash_clientside.no_update;
    if (ev['xaxis.autorange']) { return current ? null : noUpdate; }
    let lo = ev['xaxis.range[0]'], hi = ev['xaxis.range[1]'];
    if (lo === undefined && Array.isArray(ev['xaxis.range'])) { [lo, hi] = ev['xaxis.range']; }
    if (lo === undefined || hi === undefined) { return noUpdate; }
    const next = {'xaxis.range[0]': lo, 'xaxis.range[1]': hi};
    return JSON.stringify(next) === JSON.stringify(current) ? noUpdate : next;
}
"""


def table_group_by(state) -> list[str] | None:
    """The experiment table's grouping, which a line panel may follow."""
    try:
        return clean_group_by((state or {}).get("groupBy") if isinstance(state, dict) else None)
    except HalleyError:
        return None


def _panel_to_draw(panels, state, drawn, *inputs) -> tuple[dict, str]:
    """The panel this request draws and the signature of what it will show.

    Dash asks every graph of the grid for its figure again whenever the grid's children change
    (a card added, edited or removed), as it does for a new graph. A graph that already shows
    this panel for these inputs keeps its figure: the request ends here, at no cost."""
    panel = svc.find_panel(panels, ctx.outputs_list[0]["id"]["index"])
    if panel is None:
        raise PreventUpdate
    signature = hashlib.sha1(json.dumps([panel, view_filters(state), *inputs], sort_keys=True,
                                        default=str).encode()).hexdigest()
    if ctx.triggered_id is None and drawn == signature:
        raise PreventUpdate
    return panel, signature


def line_figure(call: Call, zoom_event, refresh, panels, state, ctx_data, drawn):
    """A line panel's figure, read again for the x range its zoom store holds."""
    panel, signature = _panel_to_draw(panels, state, drawn, refresh, zoom_event, table_group_by(state))
    zoom = zoom_range(zoom_event, log_x=bool(panel.get("logX")))
    return svc.panel_figure(call.session, call.actor, load_project(call, ctx_data), view_filters(state), panel,
                            x_range=zoom, cache=_cache(call), table_group_by=table_group_by(state), as_json=True), \
        signature


def aggregate_figure(call: Call, refresh, panels, state, brush_data, ctx_data, drawn):
    """A bar, scatter or parallel-coordinates panel's figure over the view's experiments; a
    parallel-coordinates panel keeps the ranges brushed on it."""
    panel, signature = _panel_to_draw(panels, state, drawn, refresh)
    brushed = brush_data if isinstance(brush_data, dict) and brush_data.get("panel") == panel["id"] else {}
    return svc.panel_figure(call.session, call.actor, load_project(call, ctx_data), view_filters(state), panel,
                            cache=_cache(call), constraints=brushed.get("constraints"), as_json=True), signature


# --- gallery and editor --------------------------------------------------------------------

def open_gallery(call: Call, _n, ctx_data):
    project = load_project(call, ctx_data)
    cat = svc.catalogue(call.session, call.actor, project)
    mine = svc.list_templates(call.session, call.actor)
    featured = svc.featured_that_render(call.session, call.actor, project, cat, cache=_cache(call))
    data = {"catalogue": cat, "featured": featured, "mine": mine}
    feat_cards = template_cards([(f"featured:{i}", svc.panel_title(p), *_card_text(p)) for i, p in enumerate(featured)])
    mine_cards = template_cards([(f"mine:{t['id']}", t["name"], *_card_text(t["config"])) for t in mine],
                                deletable=True)
    return True, feat_cards, mine_cards, data


def _card_text(panel: dict) -> tuple[str, str]:
    """A gallery card's icon and description of a panel."""
    ptype = REGISTRY[panel["type"]]
    return ptype.icon, ptype.describe(panel)


def _with_defaults(panel: dict, cat: dict) -> dict:
    """A new built-in panel pre-filled with the project's first metric, so the preview shows data."""
    return svc.normalize_panel(REGISTRY[panel["type"]].prefill(panel, cat))


def open_editor(_call: Call, _picks, _edits, gallery_data, panels):
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not (ctx.triggered and ctx.triggered[0]["value"]):
        raise PreventUpdate
    gallery_data = gallery_data or {}
    if trig["type"] == "project-panel-edit":
        panel = svc.find_panel(panels, trig["index"])
        if panel is None:
            raise PreventUpdate
        return {"mode": "edit", "config": panel}, no_update, True
    kind, _, ref = trig["index"].partition(":")
    if kind == "builtin":
        config = _with_defaults(svc.default_panel(ref), gallery_data.get("catalogue") or {})
    elif kind == "featured":
        featured = gallery_data.get("featured") or []
        if int(ref) >= len(featured):
            raise PreventUpdate
        config = svc.normalize_panel(featured[int(ref)])
    else:
        config = next((svc.normalize_panel(t.get("config")) for t in gallery_data.get("mine") or []
                       if str(t.get("id")) == ref), None)
        if config is None:
            raise PreventUpdate
    config = {**config, "id": uuid.uuid4().hex[:12]}
    return {"mode": "new", "config": config}, False, True


def fill_editor(call: Call, editing, _reset, ctx_data):
    """Editor controls from the panel being edited (or its type's defaults after Reset), in the
    order of ``_fill_outputs``; the other types' controls get their defaults."""
    if not editing:
        raise PreventUpdate
    panel = svc.normalize_panel(editing.get("config"))
    if ctx.triggered_id == "project-editor-reset":
        panel = {**svc.default_panel(panel["type"]), "id": panel["id"]}
    try:
        cat = svc.catalogue(call.session, call.actor, load_project(call, ctx_data))
    except HalleyError:
        cat = {"metrics": [], "params": [], "tags": []}
    ptype = REGISTRY[panel["type"]]
    title = ("Edit " if editing.get("mode") == "edit" else "New ") + ptype.label
    out = [title, panel["name"], panel["legend"], panel["outliers"],
           *[None if p is ptype else HIDDEN for p in REGISTRY.values()],
           None if ptype.legend_keys else HIDDEN, None if ptype.outliers else HIDDEN, None]
    for other in REGISTRY.values():
        values = other.editor_values(panel if other is ptype else svc.default_panel(other.type), cat)
        for f in other.fields:
            out += [values[f.control]["options"], values[f.control]["value"]] if f.dynamic else \
                [values[f.control]["value"]]
    return tuple(out)


def _fill_outputs() -> list[Output]:
    """What ``fill_editor`` sets, in its order."""
    outputs = [Output("project-editor-title", "children"), Output("project-editor-name", "value"),
               Output("project-editor-legend", "value"), Output("project-editor-outliers", "value"),
               *[Output(f"project-editor-{t}", "style") for t in REGISTRY],
               Output("project-editor-legend-wrap", "style"), Output("project-editor-outliers-wrap", "style"),
               Output("project-editor-error", "children")]
    for f in EDITOR_FIELDS:
        if f.dynamic:
            outputs.append(Output(f"project-editor-{f.control}", "options"))
        outputs.append(Output(f"project-editor-{f.control}", "value"))
    return outputs


def config_from_controls(editing, *controls) -> dict:
    """The panel config the editor's controls (``EDITOR_CONTROLS``, in order) describe (validated)."""
    values = dict(zip(EDITOR_CONTROLS, controls))
    base = svc.normalize_panel((editing or {}).get("config") or {})
    raw = {"id": base["id"], "type": base["type"], "name": values["name"] or "", "legend": values["legend"],
           "outliers": values["outliers"]}
    return svc.normalize_panel({**raw, **REGISTRY[base["type"]].from_editor(values)})


def preview(call: Call, *args):
    *controls, editing, state, ctx_data = args
    if not editing:
        raise PreventUpdate
    panel = config_from_controls(editing, *controls)
    return svc.panel_figure(call.session, call.actor, load_project(call, ctx_data), view_filters(state), panel,
                            cache=_cache(call), table_group_by=table_group_by(state))


def apply_editor(call: Call, _n, *args):
    """The editor's panel into the page's list, and its card into the grid in the same answer
    (``render_cards`` then finds the grid up to date)."""
    *controls, editing, panels, drawn = args
    if not editing:
        raise PreventUpdate
    panel = config_from_controls(editing, *controls)
    panels = svc.normalize_panels(panels)
    if editing.get("mode") == "edit" and any(p["id"] == panel["id"] for p in panels):
        panels = [panel if p["id"] == panel["id"] else p for p in panels]
    else:
        panels.append(panel)
    drawn = svc.normalize_panels(drawn)
    grid = grid_update(call, panels, drawn, ctx.outputs_list[3], ctx.outputs_list[4]) if panels != drawn else \
        (no_update, no_update, [no_update] * len(ctx.outputs_list[3]), [no_update] * len(ctx.outputs_list[4]))
    children, shown, cells, tails = grid
    return panels, False, None, cells, tails, children, shown


def delete_panel(_call: Call, _clicks, panels):
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not (ctx.triggered and ctx.triggered[0]["value"]):
        raise PreventUpdate
    return [p for p in svc.normalize_panels(panels) if p["id"] != trig["index"]]


def keep_panel(call: Call, _clicks, panels):
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not (ctx.triggered and ctx.triggered[0]["value"]):
        raise PreventUpdate
    panel = svc.find_panel(panels, trig["index"])
    if panel is None:
        raise PreventUpdate
    svc.save_template(call.session, call.actor, panel)
    return f"Added '{svc.panel_title(panel)}' to your panels.", True


def forget_template(call: Call, _clicks, gallery_data):
    trig = ctx.triggered_id
    if not isinstance(trig, dict) or not (ctx.triggered and ctx.triggered[0]["value"]):
        raise PreventUpdate
    svc.delete_template(call.session, call.actor, int(trig["index"].partition(":")[2]))
    mine = svc.list_templates(call.session, call.actor)
    data = {**(gallery_data or {}), "mine": mine}
    return template_cards([(f"mine:{t['id']}", t["name"], *_card_text(t["config"])) for t in mine],
                          deletable=True), data


# --- brushing ------------------------------------------------------------------------------

def brush(call: Call, restyles, panels, current, state, ctx_data):
    """A parcoords brush changed: keep its ranges and what they select (the table narrows)."""
    trig = ctx.triggered_id
    if not isinstance(trig, dict):
        raise PreventUpdate
    pid = trig["index"]
    panel = svc.find_panel(panels, pid)
    if panel is None or not REGISTRY[panel["type"]].brushable:
        raise PreventUpdate
    restyle = next((r for r, item in zip(restyles, ctx.inputs_list[0]) if item["id"]["index"] == pid), None)
    if not constraint_updates(restyle, panel["axes"]):
        raise PreventUpdate
    # in real values (a log axis sends log10 ranges)
    updates = svc.brush_updates(call.session, call.actor, load_project(call, ctx_data), view_filters(state), panel,
                                restyle)
    constraints = dict((current or {}).get("constraints") or {}) if (current or {}).get("panel") == pid else {}
    constraints.update(updates)
    constraints = {k: v for k, v in constraints.items() if v}
    if not constraints:
        if current is None:
            raise PreventUpdate
        return None, []
    result = svc.brush(call.session, call.actor, load_project(call, ctx_data), view_filters(state), panel, constraints)
    data = {"panel": pid, "constraints": constraints, "rules": result["rules"], "count": len(result["keys"])}
    description = "; ".join(describe_rule(r) if "attr" in r else "one of several values" for r in result["rules"])
    return data, brush_bar(len(result["keys"]), description, bool((ctx_data or {}).get("canWrite")))


BRUSH_CHANGED_JS = """
function (brush) {
    if (window.halleyPanels) { window.halleyPanels.brushChanged(brush); }
    return window.dash_clientside.no_update;
}
"""


def save_brush(call: Call, _n, current, state, ctx_data):
    if not _n or not current or not current.get("rules"):
        raise PreventUpdate
    session, actor = call.session, call.actor
    filters = svc.narrow_filters(view_filters(state), current["rules"])
    name = "Brush: " + "; ".join(describe_rule(r) if "attr" in r else "several values" for r in current["rules"])
    project = load_project(call, ctx_data)
    try:
        saved = project_views.create_query(session, actor, project, name[:180], filters)
    except HalleyError:
        saved = project_views.create_query(session, actor, project, f"{name[:160]} ({time.strftime('%H:%M:%S')})",
                                           filters)
    options = query_options(project_views.list_queries(session, actor, project))
    return None, [], options, saved.id, f"Saved the query '{saved.name}'.", True


# Parallel coordinates are drawn in the browser, over their blank Plotly graph (assets/parcoords.js),
# with a library the page loads as soon as it has such a panel, while the figures are computed.
PRELOAD_PARCOORDS_JS = """
function (panels) {
    if ((panels || []).some(p => p && p.type === 'parcoords')) { window.halleyParcoords.preload(); }
    return window.dash_clientside.no_update;
}
"""
DRAW_PARCOORDS_JS = """
function (figure) {
    window.halleyParcoords.draw(figure, window.dash_clientside.callback_context.outputs_list.id);
    return window.dash_clientside.no_update;
}
"""


def register(kit: CallbackKit) -> None:
    for kind in ("project-panel-line", "project-panel-agg", "project-panel-zoom", "project-panel-line-drawn",
                 "project-panel-agg-drawn", "project-panel-edit", "project-panel-delete", "project-panel-keep"):
        kit.pattern(kind, index=PANEL_ID)
    kit.pattern("project-panels-cell", index=PANEL_ID)
    kit.pattern("project-panels-tail", index=COUNT)
    kit.pattern("project-gallery-pick",
                index=matching(rf"builtin:({'|'.join(REGISTRY)})|featured:\d{{1,3}}|mine:\d{{1,18}}",
                               "a gallery entry"))
    kit.pattern("project-gallery-forget", index=matching(r"mine:\d{1,18}", "a panel of yours"))
    kit.value("project-panels-list.data", optional(LIST))
    kit.value("project-panels-drawn.data", optional(LIST))
    kit.value("project-panels-brush.data", optional(record(panel=optional(PANEL_ID), constraints=optional(OBJECT),
                                                           rules=optional(LIST))))
    kit.value("project-panels-catalogue.data", optional(record(catalogue=optional(OBJECT), featured=optional(LIST),
                                                               mine=optional(list_of(OBJECT)))))
    kit.value("project-panels-editing.data", optional(record(mode=optional(TEXT), config=ANY)))
    kit.value("project-panel-zoom.data", optional(OBJECT))
    kit.value("project-panel-line-drawn.data", optional(TEXT))
    kit.value("project-panel-agg-drawn.data", optional(TEXT))
    kit.value("project-panel-agg.restyleData", optional(LIST))
    for control in EDITOR_CONTROLS:
        kit.value(f"project-editor-{control}.value",
                  optional(list_of(TEXT)) if control in LIST_CONTROLS
                  else optional(TEXT | NUMBER))
    kit.value("project-table-asked.data", optional(FLAG))
    kit.clientside(TABLE_ASKED_JS, Output("project-table-asked", "data"), Input("project-count", "children"),
                   State("project-table-asked", "data"), prevent_initial_call=True)
    kit.callback(Output("project-panels", "children"), Input("project-table-asked", "data"),
                 Input("project-url-hash", "data"), State("project-ctx", "data"), State("project-state", "data"),
                 public=True, fallback={"project-panels.children": None})(render_area)
    kit.callback(Output("project-panels-list", "data", allow_duplicate=True), Input("project-state", "data"),
                 State("project-panels-list", "data"), prevent_initial_call=True, public=True)(list_from_state)
    kit.callback(Output("project-state", "data", allow_duplicate=True), Input("project-panels-list", "data"),
                 State("project-state", "data"), prevent_initial_call=True, public=True)(state_from_list)
    kit.callback(Output("project-panels-grid", "children"), Output("project-panels-drawn", "data"),
                 Output({"type": "project-panels-cell", "index": ALL}, "children"),
                 Output({"type": "project-panels-tail", "index": ALL}, "children"),
                 Input("project-panels-list", "data"), State("project-panels-drawn", "data"),
                 prevent_initial_call=True, public=True)(render_cards)
    kit.clientside(X_ZOOM_JS, Output({"type": "project-panel-zoom", "index": MATCH}, "data"),
                   Input({"type": "project-panel-line", "index": MATCH}, "relayoutData"),
                   State({"type": "project-panel-zoom", "index": MATCH}, "data"), prevent_initial_call=True)
    kit.callback(Output({"type": "project-panel-line", "index": MATCH}, "figure"),
                 Output({"type": "project-panel-line-drawn", "index": MATCH}, "data"),
                 Input({"type": "project-panel-zoom", "index": MATCH}, "data"),
                 Input("project-refresh", "data"), State("project-panels-list", "data"),
                 State("project-state", "data"), State("project-ctx", "data"),
                 State({"type": "project-panel-line-drawn", "index": MATCH}, "data"), public=True,
                 error=figure("project-panel-line.figure"))(line_figure)
    kit.callback(Output({"type": "project-panel-agg", "index": MATCH}, "figure"),
                 Output({"type": "project-panel-agg-drawn", "index": MATCH}, "data"),
                 Input("project-refresh", "data"), State("project-panels-list", "data"),
                 State("project-state", "data"), State("project-panels-brush", "data"), State("project-ctx", "data"),
                 State({"type": "project-panel-agg-drawn", "index": MATCH}, "data"),
                 public=True, error=figure("project-panel-agg.figure"))(aggregate_figure)
    kit.clientside(PRELOAD_PARCOORDS_JS, Output("project-panels-list", "id"), Input("project-panels-list", "data"))
    for graph in ({"type": "project-panel-agg", "index": MATCH}, "project-editor-preview"):
        kit.clientside(DRAW_PARCOORDS_JS, Output(graph, "id"), Input(graph, "figure"))
    kit.callback(Output("project-panels-gallery", "is_open"), Output("project-gallery-featured", "children"),
                 Output("project-gallery-mine", "children"), Output("project-panels-catalogue", "data"),
                 Input("project-panels-add", "n_clicks"), State("project-ctx", "data"),
                 prevent_initial_call=True, public=True)(open_gallery)
    kit.callback(Output("project-panels-editing", "data"),
                 Output("project-panels-gallery", "is_open", allow_duplicate=True),
                 Output("project-panels-editor", "is_open"),
                 Input({"type": "project-gallery-pick", "index": ALL}, "n_clicks"),
                 Input({"type": "project-panel-edit", "index": ALL}, "n_clicks"),
                 State("project-panels-catalogue", "data"), State("project-panels-list", "data"),
                 prevent_initial_call=True, public=True)(open_editor)
    kit.callback(
        *_fill_outputs(),
        Input("project-panels-editing", "data"), Input("project-editor-reset", "n_clicks"),
        State("project-ctx", "data"), prevent_initial_call=True, public=True,
        error=plain_text("project-editor-error.children"))(fill_editor)
    controls = [State(f"project-editor-{c}", "value") for c in EDITOR_CONTROLS]
    kit.callback(Output("project-editor-preview", "figure"),
                 *[Input(c.component_id, c.component_property) for c in controls],
                 Input("project-panels-editing", "data"), State("project-state", "data"),
                 State("project-ctx", "data"), prevent_initial_call=True, public=True,
                 error=figure("project-editor-preview.figure"))(preview)
    kit.callback(Output("project-panels-list", "data", allow_duplicate=True),
                 Output("project-panels-editor", "is_open", allow_duplicate=True),
                 Output("project-editor-error", "children", allow_duplicate=True),
                 Output({"type": "project-panels-cell", "index": ALL}, "children", allow_duplicate=True),
                 Output({"type": "project-panels-tail", "index": ALL}, "children", allow_duplicate=True),
                 Output("project-panels-grid", "children", allow_duplicate=True),
                 Output("project-panels-drawn", "data", allow_duplicate=True),
                 Input("project-editor-done", "n_clicks"), *controls, State("project-panels-editing", "data"),
                 State("project-panels-list", "data"), State("project-panels-drawn", "data"),
                 prevent_initial_call=True, public=True,
                 error=plain_text("project-editor-error.children"))(apply_editor)
    kit.callback(Output("project-panels-list", "data", allow_duplicate=True),
                 Input({"type": "project-panel-delete", "index": ALL}, "n_clicks"),
                 State("project-panels-list", "data"), prevent_initial_call=True, public=True)(delete_panel)
    kit.callback(Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Input({"type": "project-panel-keep", "index": ALL}, "n_clicks"),
                 State("project-panels-list", "data"), prevent_initial_call=True, error=toast())(keep_panel)
    kit.callback(Output("project-gallery-mine", "children", allow_duplicate=True),
                 Output("project-panels-catalogue", "data", allow_duplicate=True),
                 Input({"type": "project-gallery-forget", "index": ALL}, "n_clicks"),
                 State("project-panels-catalogue", "data"), prevent_initial_call=True)(forget_template)
    kit.callback(Output("project-panels-brush", "data"), Output("project-panels-brush-bar", "children"),
                 Input({"type": "project-panel-agg", "index": ALL}, "restyleData"),
                 State("project-panels-list", "data"), State("project-panels-brush", "data"),
                 State("project-state", "data"), State("project-ctx", "data"), prevent_initial_call=True, public=True,
                 error=alert("project-panels-brush-bar.children"))(brush)
    kit.clientside(BRUSH_CHANGED_JS, Output("project-panels-brush-bar", "id"),
                   Input("project-panels-brush", "data"), prevent_initial_call=True)
    kit.callback(Output("project-panels-brush", "data", allow_duplicate=True),
                 Output("project-panels-brush-bar", "children", allow_duplicate=True),
                 Output("project-query-select", "options", allow_duplicate=True),
                 Output("project-query-select", "value", allow_duplicate=True),
                 Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Input("project-panels-brush-save", "n_clicks"), State("project-panels-brush", "data"),
                 State("project-state", "data"), State("project-ctx", "data"), prevent_initial_call=True,
                 error=toast())(save_brush)
