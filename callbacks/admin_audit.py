"""The audit log (/admin/audit): filters and pages, read in SQL by ``site_admin.audit_page``,
which lets only site admins in."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from dash import Input, Output, State, ctx

from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import COUNT, TEXT, matching, optional
from dashboard.errors import Invalid
from dashboard.services import audit, site_admin
from layouts.components.audit_table import audit_table

DATE = matching(r"\d{4}-\d{2}-\d{2}(T[0-9:.]*)?", "a date")
ACTION = matching(r"[a-z_.]{1,64}", "an action")


def _day(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value[:10]), time(), tzinfo=timezone.utc)
    except ValueError as exc:
        raise Invalid("Refused a malformed request: not a date.") from exc


def render(call: Call, action, actor, text, start, end, page):
    since, until = _day(start), _day(end)
    f = audit.AuditFilter(action=action or "", actor=(actor or "").strip()[:200], text=(text or "").strip()[:200],
                          since=since, until=until + timedelta(days=1) if until else None)
    events, total, actions = site_admin.audit_page(call.session, call.actor, f, page or 0)
    page = page or 0
    size = audit.PAGE_SIZE
    last = max(0, (total - 1) // size)
    label = "0 entries" if not total else f"{page * size + 1}-{min(total, (page + 1) * size)} of {total}"
    groups = sorted({a.split(".")[0] + "." for a in actions if "." in a})
    options = ([{"label": f"{g}* (all)", "value": g} for g in groups]
               + [{"label": a, "value": a} for a in actions])
    return audit_table(events), label, page <= 0, page >= last, options


def change_page(call: Call, _prev, _next, _action, _actor, _text, _start, _end, page):
    site_admin.require_site_admin(call.session, call.actor)
    if ctx.triggered_id == "admin-audit-prev":
        return max(0, (page or 0) - 1)
    if ctx.triggered_id == "admin-audit-next":
        return (page or 0) + 1
    return 0


def register(kit: CallbackKit) -> None:
    kit.value("admin-audit-action.value", optional(ACTION))
    for name in ("admin-audit-actor.value", "admin-audit-text.value"):
        kit.value(name, optional(TEXT))
    for name in ("admin-audit-dates.start_date", "admin-audit-dates.end_date"):
        kit.value(name, optional(DATE))
    kit.value("admin-audit-page.data", optional(COUNT))
    filters = [Input("admin-audit-action", "value"), Input("admin-audit-actor", "value"),
               Input("admin-audit-text", "value"), Input("admin-audit-dates", "start_date"),
               Input("admin-audit-dates", "end_date")]
    kit.callback(
        Output("admin-audit-list", "children"), Output("admin-audit-page-label", "children"),
        Output("admin-audit-prev", "disabled"), Output("admin-audit-next", "disabled"),
        Output("admin-audit-action", "options"),
        *filters, Input("admin-audit-page", "data"), error=alert("admin-audit-list.children", id="admin-audit-error"),
    )(render)
    kit.callback(
        Output("admin-audit-page", "data"),
        Input("admin-audit-prev", "n_clicks"), Input("admin-audit-next", "n_clicks"), *filters,
        State("admin-audit-page", "data"), prevent_initial_call=True,
    )(change_page)
