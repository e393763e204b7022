"""The callback kit's contract, on a small Dash app of its own: what a callback gets, how its
errors are shown, what is checked before it runs and what stays a 500."""
from __future__ import annotations

import pytest
from dash import ALL, Dash, Input, Output, State, html
from dash.exceptions import PreventUpdate
from flask import Flask
from sqlmodel import select

from callbacks.kit import Call, CallbackKit, alert
from callbacks.shapes import ID, PANEL_ID, optional
from dashboard.config import Settings
from dashboard.db import Database, migrate
from dashboard.errors import NotFound
from dashboard.services import accounts
from dashboard.webauth import PRIVATE, PUBLIC, callback_access
from models import User
from tests.dash_requests import body_from_values, find_callback


def small_app(tmp_path) -> Dash:
    settings = Settings.from_env(home=tmp_path, database_url=f"sqlite:///{tmp_path / 'kit.db'}")
    migrate(settings.database_url)
    server = Flask(__name__)
    server.extensions["halley"] = {"settings": settings, "db": Database(settings.database_url)}
    dash_app = Dash(__name__, server=server, suppress_callback_exceptions=True)
    dash_app.layout = html.Div()
    return dash_app


def add_user(call: Call, _n, name, then, _project):
    accounts.create_user(call.session, name, f"{name}@example.org", "pw-123456")
    if then == "not found":
        raise NotFound("Nothing here")
    if then == "prevent":
        raise PreventUpdate
    if then == "bug":
        raise RuntimeError("a bug")
    return "added", "done"


def draw(_call: Call, _n):
    raise NotFound("No figures")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    dash_app = small_app(tmp_path_factory.mktemp("kit"))
    kit = CallbackKit(dash_app)
    kit.pattern("kit-graph", index=PANEL_ID)
    kit.value("kit-project.data", optional(ID))
    kit.callback(Output("kit-message", "children"), Output("kit-status", "children"),
                 Input("kit-add", "n_clicks"), State("kit-name", "value"), State("kit-then", "value"),
                 State("kit-project", "data"), public=True, error=alert("kit-message.children", id="kit-error"),
                 fallback={"kit-status.children": "failed"})(add_user)
    kit.callback(Output({"type": "kit-graph", "index": ALL}, "figure"), Input("kit-draw", "n_clicks"))(draw)
    return dash_app


def post(app, values: dict, trigger: str = "kit-add.n_clicks", changed: list[str] | None = None):
    client = app.server.test_client()
    body = body_from_values(find_callback(client.get("/_dash-dependencies").json, trigger), values)
    if changed is not None:
        body["changedPropIds"] = changed
    return client.post("/_dash-update-component", json=body)


def users(app) -> set[str]:
    with app.server.extensions["halley"]["db"].session() as s:
        return set(s.exec(select(User.username)).all())


def test_a_call_commits_what_it_wrote_unless_it_fails(app):
    r = post(app, {"kit-add.n_clicks": 1, "kit-name.value": "kept", "kit-then.value": "ok"})
    assert r.status_code == 200 and "done" in r.text
    assert post(app, {"kit-add.n_clicks": 1, "kit-name.value": "prevented", "kit-then.value": "prevent"}
                ).status_code == 204
    r = post(app, {"kit-add.n_clicks": 1, "kit-name.value": "refused", "kit-then.value": "not found"})
    assert r.status_code == 200
    shown = r.json["response"]
    assert shown["kit-message"]["children"]["props"]["id"] == "kit-error"
    assert "Nothing here" in str(shown["kit-message"]) and shown["kit-status"]["children"] == "failed"
    assert {"kept", "prevented"} <= users(app) and "refused" not in users(app)


def test_a_bug_stays_a_server_error(app):
    r = post(app, {"kit-add.n_clicks": 1, "kit-name.value": "buggy", "kit-then.value": "bug"})
    assert r.status_code == 500
    assert "buggy" not in users(app)


def test_values_and_ids_of_another_shape_are_refused_before_the_call(app):
    for values in ({"kit-add.n_clicks": "1"}, {"kit-add.n_clicks": 1, "kit-project.data": 2**64},
                   {"kit-add.n_clicks": 1, "kit-project.data": {"id": 1}},
                   {"kit-add.n_clicks": 1, "kit-name.value": {}}):
        r = post(app, {"kit-name.value": "never", "kit-then.value": "ok", **values})
        assert r.status_code == 200 and "Refused a malformed request" in r.text, values
    r = post(app, {"kit-add.n_clicks": 1, "kit-name.value": "never"}, changed=["{not json.n_clicks"])
    assert "Refused a malformed request" in r.text
    assert "never" not in users(app)


def test_wildcard_outputs_keep_their_values_on_an_error(app):
    for index in ("a1", {"a": 1}):
        graphs = [({"type": "kit-graph", "index": index}, None), ({"type": "kit-graph", "index": "b2"}, None)]
        assert post(app, {"kit-draw.n_clicks": 1, "kit-graph.figure": graphs}, "kit-draw.n_clicks").status_code == 204


def test_access_is_recorded_and_pattern_ids_must_be_declared(app, tmp_path):
    assert sorted(callback_access(app.server).values()) == [PRIVATE, PUBLIC]
    kit = CallbackKit(small_app(tmp_path))
    with pytest.raises(TypeError, match="declare the shapes"):
        kit.callback(Output({"type": "undeclared", "index": ALL}, "children"), Input("x", "n_clicks"))(draw)
