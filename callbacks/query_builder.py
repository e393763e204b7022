"""The query builder: the attribute catalogue, the "+ Add filter" form, editing the filter
model (pure functions used by the view-state callback in callbacks/project_views.py) and
saving, loading and deleting saved queries."""
from __future__ import annotations

import copy

from dash import Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.kit import Call, CallbackKit, alert
from callbacks.project_table import load_project
from callbacks.shapes import OBJECT, TEXT, list_of, one_of, optional
from dashboard.errors import HalleyError, Invalid
from dashboard.query import STATUS_CHOICES, compile_filters, parse_column
from dashboard.services import experiment_table as table, project_views, view_state
from dashboard.services.table_groups import groupable
from layouts.components.query_builder import ALL_EXPERIMENTS, operator_options, query_options, value_inputs_needed

# --- editing the filter model (paths: "" top group, "i" its item i, "i.j" item j of group i) --


def _empty() -> dict:
    return {"op": "and", "rules": []}


def add_rule(filters: dict | None, rule: dict, target: str | None) -> dict:
    """A copy of ``filters`` with ``rule`` added at the top, to a new OR group, or to group ``target``."""
    out = copy.deepcopy(filters) if filters else _empty()
    out.setdefault("rules", [])
    if target == "new":
        out["rules"].append({"op": "or", "rules": [rule]})
    elif target and target.isdigit() and int(target) < len(out["rules"]) and "rules" in out["rules"][int(target)]:
        out["rules"][int(target)]["rules"].append(rule)
    else:
        out["rules"].append(rule)
    return out


def _locate(filters: dict, path: str):
    parts = [int(p) for p in path.split(".")] if path else []
    parent, node = None, filters
    for i in parts:
        items = node.get("rules") if isinstance(node, dict) else None
        if not isinstance(items, list) or i >= len(items):
            raise Invalid("That filter no longer exists")
        parent, node = node, items[i]
    return parent, node, parts[-1] if parts else None


def remove_at(filters: dict | None, path: str) -> dict:
    out = copy.deepcopy(filters) if filters else _empty()
    if not path:
        return _empty()
    parent, _node, index = _locate(out, path)
    del parent["rules"][index]
    # a group left empty disappears
    if parent is not out and not parent["rules"]:
        remove = path.rsplit(".", 1)[0]
        return remove_at(out, remove)
    return out


def toggle_op(filters: dict | None, path: str) -> dict:
    out = copy.deepcopy(filters) if filters else _empty()
    _parent, node, _index = _locate(out, path)
    if not isinstance(node, dict) or "rules" not in node:
        raise Invalid("Only groups combine with AND/OR")
    node["op"] = "or" if node.get("op", "and") == "and" else "and"
    return out


def rule_from_form(attr, operator, value, value2) -> dict:
    """A checked rule from the "+ Add filter" form (Invalid with a readable message otherwise)."""
    if not attr:
        raise Invalid("Pick an attribute")
    if not operator:
        raise Invalid("Pick an operator")
    rule = {"attr": attr, "operator": operator}
    need = value_inputs_needed(operator)
    if need >= 1:
        if value is None or str(value).strip() == "":
            raise Invalid("Enter a value")
        rule["value"] = str(value).strip()
    if need == 2:
        if value2 is None or str(value2).strip() == "":
            raise Invalid("Enter both bounds")
        rule["value2"] = str(value2).strip()
    compile_filters({"op": "and", "rules": [rule]})
    return rule


# --- callbacks -----------------------------------------------------------------------------

def load_attributes(call: Call, ctx_data, state):
    """The attribute catalogue for the filter form, group-by and column pickers."""
    attrs = table.attributes(call.session, load_project(call, ctx_data))
    known = {a["id"] for a in attrs}
    columns = state.get("columns") if isinstance(state, dict) else None
    for col in columns if isinstance(columns, list) else []:
        if isinstance(col, str) and col not in known:
            try:
                attrs.append({"id": col, "label": parse_column(col).label, "type": "text", "group": "Other"})
            except Invalid:
                continue
    options = [{"label": f"{a['group']}: {a['label']}", "value": a["id"]} for a in attrs]
    group_options = [o for o in options if groupable(parse_column(o["value"]))]
    return attrs, options, group_options, options


def attribute_picked(_call: Call, attr, attrs):
    kind = next((a.get("type") for a in attrs or [] if a.get("id") == attr), None)
    ops = operator_options(kind)
    suggestions = []
    if attr == "sys:status":
        suggestions = [html.Option(value=s) for s in STATUS_CHOICES]
    return ops, None, suggestions


def operator_picked(call: Call, operator, attr, ctx_data):
    need = value_inputs_needed(operator)
    value_style = None if need >= 1 else {"display": "none"}
    value2_style = None if need == 2 else {"display": "none"}
    placeholder = "YYYY-MM-DD" if operator in ("before", "after") or (attr or "").endswith("_time") else "Value"
    suggestions = no_update
    if attr == "tags":
        try:
            suggestions = [html.Option(value=t) for t in table.project_tags(call.session, load_project(call, ctx_data))]
        except HalleyError:
            suggestions = []
    return value_style, value2_style, placeholder, suggestions


def toggle_form(_call: Call, _n, is_open):
    return not is_open


def open_save_query(call: Call, _open, _cancel, is_open, state, ctx_data):
    if ctx.triggered_id == "project-query-cancel" or is_open:
        return False, no_update, no_update, no_update, None, no_update
    query_id = view_state.normalize_state(state)["queryId"]
    options, mode, delete_style = [{"label": "Create new query", "value": "new"}], "new", {"display": "none"}
    question = None
    if query_id is not None:
        try:
            saved = project_views.get_query(call.session, call.actor, load_project(call, ctx_data), query_id)
            options.insert(0, {"label": f"Save changes to the query '{saved.name}'", "value": "update"})
            mode, delete_style = "update", None
            question = ["Delete the saved query ", html.B(saved.name, id="project-query-delete-name"),
                        "? It is gone for everyone in the project."]
        except HalleyError:
            pass
    return True, options, mode, delete_style, None, question


# "Delete query" shows a confirmation inside the dialog; opening the dialog again, "Keep it"
# and the confirmation itself hide it.
DELETE_BOX_JS = """function(ask, keep, confirm, open) {
    const id = window.dash_clientside.callback_context.triggered_id;
    return {display: id === 'project-query-delete' ? 'block' : 'none'};
}"""


def save_query(call: Call, _save, _delete, mode, name, state, ctx_data):
    if not (ctx.triggered and ctx.triggered[0]["value"]):  # a button mounting, not a click
        raise PreventUpdate
    session, actor = call.session, call.actor
    state = view_state.normalize_state(state)
    p = load_project(call, ctx_data)
    if ctx.triggered_id == "project-query-delete-confirm":
        project_views.delete_query(session, actor, p, state["queryId"])
        selected, message = ALL_EXPERIMENTS, "Query deleted."
    elif mode == "update":
        saved = project_views.update_query(session, actor, p, state["queryId"], state["filters"])
        selected, message = saved.id, f"Saved the query '{saved.name}'."
    else:
        saved = project_views.create_query(session, actor, p, name, state["filters"])
        selected, message = saved.id, f"Saved the query '{saved.name}'."
    options = query_options(project_views.list_queries(session, actor, p))
    return None, False, options, selected, html.Span(message), True


def register(kit: CallbackKit) -> None:
    kit.value("project-attrs.data", optional(list_of(OBJECT)))
    for name in ("project-filter-attr.value", "project-filter-operator.value", "project-query-name.value"):
        kit.value(name, optional(TEXT))
    kit.value("project-query-save-mode.value", optional(one_of("new", "update")))
    kit.callback(Output("project-attrs", "data"), Output("project-filter-attr", "options"),
                 Output("project-groupby", "options"), Output("project-columns-select", "options"),
                 Input("project-ctx", "data"), State("project-state", "data"), public=True,
                 fallback={"project-attrs.data": [], "project-filter-attr.options": [],
                           "project-groupby.options": [], "project-columns-select.options": []})(load_attributes)
    kit.callback(Output("project-filter-operator", "options"), Output("project-filter-operator", "value"),
                 Output("project-filter-suggestions", "children", allow_duplicate=True),
                 Input("project-filter-attr", "value"), State("project-attrs", "data"),
                 prevent_initial_call=True, public=True)(attribute_picked)
    kit.callback(Output("project-filter-value-col", "style"), Output("project-filter-value2-col", "style"),
                 Output("project-filter-value", "placeholder"),
                 Output("project-filter-suggestions", "children", allow_duplicate=True),
                 Input("project-filter-operator", "value"), State("project-filter-attr", "value"),
                 State("project-ctx", "data"), prevent_initial_call=True, public=True)(operator_picked)
    kit.callback(Output("project-filter-form", "is_open"), Input("project-filter-add-open", "n_clicks"),
                 State("project-filter-form", "is_open"), prevent_initial_call=True, public=True)(toggle_form)
    kit.callback(Output("project-query-modal", "is_open"), Output("project-query-save-mode", "options"),
                 Output("project-query-save-mode", "value"), Output("project-query-delete", "style"),
                 Output("project-query-error", "children", allow_duplicate=True),
                 Output("project-query-delete-question", "children"),
                 Input("project-query-save-open", "n_clicks"), Input("project-query-cancel", "n_clicks"),
                 State("project-query-modal", "is_open"), State("project-state", "data"),
                 State("project-ctx", "data"), prevent_initial_call=True,
                 error=alert("project-query-error.children"))(open_save_query)
    kit.callback(Output("project-query-error", "children", allow_duplicate=True),
                 Output("project-query-modal", "is_open", allow_duplicate=True),
                 Output("project-query-select", "options"), Output("project-query-select", "value"),
                 Output("project-toast", "children", allow_duplicate=True),
                 Output("project-toast", "is_open", allow_duplicate=True),
                 Input("project-query-save", "n_clicks"), Input("project-query-delete-confirm", "n_clicks"),
                 State("project-query-save-mode", "value"), State("project-query-name", "value"),
                 State("project-state", "data"), State("project-ctx", "data"), prevent_initial_call=True,
                 error=alert("project-query-error.children"))(save_query)
    kit.clientside(DELETE_BOX_JS, Output("project-query-delete-box", "style"),
                   Input("project-query-delete", "n_clicks"), Input("project-query-delete-keep", "n_clicks"),
                   Input("project-query-delete-confirm", "n_clicks"), Input("project-query-save-open", "n_clicks"),
                   prevent_initial_call=True)
