"""The project view state model, without a server or a browser: what enters from a URL, a
saved view or a callback is validated once, leniently, exactly as views were always read."""
import json

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from dashboard import query as q
from dashboard.db import is_id
from dashboard.errors import Invalid
from dashboard.services import table_groups
from dashboard.services.panel_configs import normalize_panels
from dashboard.services.view_state import (
    DEFAULT_COLUMNS, MAX_STATE_BYTES, ProjectViewState, clean_column_state, decode_state, default_state, encode_state,
    normalize_state,
)


def old_normalize_state(state) -> dict:
    """How views were read before the model (panels were kept as they came, and validated
    where they were drawn: the model validates them on the way in)."""
    base = {"filters": {"op": "and", "rules": []}, "queryId": None, "columns": list(DEFAULT_COLUMNS),
            "columnState": [], "groupBy": None, "groupAgg": "mean", "hideConstant": False, "panelsOpen": True,
            "panels": []}
    if not isinstance(state, dict):
        return base
    columns = state.get("columns")
    if isinstance(columns, list):
        seen = []
        for col in columns[:300]:
            q.parse_column(col)
            if col not in seen:
                seen.append(col)
        base["columns"] = seen
    base["filters"] = q.validate_filters(state.get("filters") or None)
    base["columnState"] = clean_column_state(state.get("columnState"), base["columns"])
    base["groupBy"] = table_groups.clean_group_by(state.get("groupBy"))
    base["groupAgg"] = table_groups.clean_agg(state.get("groupAgg"))
    base["queryId"] = state.get("queryId") if is_id(state.get("queryId")) else None
    base["hideConstant"] = state.get("hideConstant") is True
    base["panelsOpen"] = state.get("panelsOpen") is not False
    base["panels"] = normalize_panels(state.get("panels") if isinstance(state.get("panels"), list) else [])
    return base


RULE = {"attr": "param:lr", "operator": "gt", "value": 0.1}
OLD_VIEWS = [
    None, {}, [], "x", {"junk": 1},
    # before grouping: groupBy one column or None, no groupAgg
    {"columns": ["sys:name", "param:opt"], "groupBy": "param:opt"}, {"groupBy": None},
    # before panels: no panels, no panelsOpen
    {"filters": {"op": "and", "rules": [RULE]}, "queryId": 4, "columns": ["sys:name", "param:lr"],
     "columnState": [{"colId": "param:lr", "width": 120, "sort": "asc", "sortIndex": 1, "pinned": "left"}]},
    # panels without ids, as written before panels had them, and one of an unknown type
    {"panels": [{"type": "line", "metrics": ["loss"]}, {"type": "bar", "metric": "acc"}, {"type": "pie"}],
     "panelsOpen": False},
    {"panels": [{"id": "a1", "type": "bar"}, {"id": "a1", "type": "bar", "metric": "x"}]},  # ids made unique
    {"groupBy": ["param:opt", "tags"], "groupAgg": "max", "hideConstant": True},
    {"columns": ["sys:name", "sys:name", "tags"], "columnState": [{"colId": "tags", "width": 5000},
                                                                   {"colId": "sys:name", "sort": "up"}, "x"]},
]


@pytest.mark.parametrize("raw", OLD_VIEWS)
def test_saved_views_load_as_they_always_did(raw):
    assert normalize_state(raw) == old_normalize_state(raw)
    state = ProjectViewState.from_untrusted(raw)
    assert state.to_dict() == normalize_state(raw)
    assert normalize_state(state.to_dict()) == state.to_dict()  # validated once: reading it again changes nothing


def test_defaults_and_the_json_shape():
    state = default_state()
    assert state == {"filters": {"op": "and", "rules": []}, "queryId": None, "columns": DEFAULT_COLUMNS,
                     "columnState": [], "groupBy": None, "groupAgg": "mean", "hideConstant": False,
                     "panelsOpen": True, "panels": []}
    assert list(state) == ["filters", "queryId", "columns", "columnState", "groupBy", "groupAgg", "hideConstant",
                           "panelsOpen", "panels"]
    # a column's unset width, sort or pin is left out, not null
    cs = normalize_state({"columns": ["sys:name"], "columnState": [{"colId": "sys:name", "width": 90.7}]})
    assert cs["columnState"] == [{"colId": "sys:name", "width": 90}]


def test_round_trips_through_the_url_and_json():
    raw = {"filters": {"op": "and", "rules": [RULE]}, "columns": ["sys:name", "param:lr", "metric:last:loss"],
           "columnState": [{"colId": "sys:name", "width": 300, "sort": "desc", "sortIndex": 0, "pinned": "right"}],
           "groupBy": ["param:lr"], "groupAgg": "last", "hideConstant": True, "panelsOpen": False, "queryId": 7,
           "panels": [{"type": "scatter", "xAxis": {"source": "param", "name": "lr"}, "yAxis": {"name": "loss"}},
                      {"type": "parcoords", "axes": ["param:lr", "metric:loss"], "scales": {"param:lr": "log"}}]}
    state = normalize_state(raw)
    encoded = encode_state(state)
    assert "/" not in encoded and "+" not in encoded and "=" not in encoded
    assert decode_state(encoded) == state
    assert normalize_state(json.loads(json.dumps(state))) == state
    assert ProjectViewState.from_untrusted(state) == ProjectViewState.from_untrusted(decode_state(encoded))


GARBAGE = [None, True, 0, -1, 1.5, float("nan"), "", "x" * 50, [], [None], {}, {"a": 1}, [[1]], "sys:name"]


@pytest.mark.parametrize("field", ["filters", "queryId", "columns", "columnState", "groupBy", "groupAgg",
                                   "hideConstant", "panelsOpen", "panels"])
@pytest.mark.parametrize("value", GARBAGE, ids=repr)
def test_garbage_in_any_field_is_defaulted_or_refused(field, value):
    raw = {"columns": ["sys:name", "param:lr"], field: value}
    try:
        expected = old_normalize_state(raw)
    except Invalid as exc:
        with pytest.raises(Invalid) as got:
            normalize_state(raw)
        assert got.value.message == exc.message  # the same clear message
        return
    assert normalize_state(raw) == expected


def test_columns_filters_and_grouping_the_table_cannot_show_are_refused():
    for raw in ({"columns": ["sys:password_hash"]}, {"filters": {"op": "and", "rules": [{"attr": "sys:name",
                                                                                        "operator": "gt",
                                                                                        "value": 1}]}},
                {"groupBy": "experiment.key"}, {"groupBy": ["param:a", "param:b", "param:c", "param:d"]},
                {"groupBy": ["param:\x00"]}, {"columns": [3]}):
        with pytest.raises(Invalid):
            ProjectViewState.from_untrusted(raw)
        assert decode_state(encode_state(raw)) is None  # a link with one is not a view
    assert decode_state("not base64!") is None and decode_state("") is None and decode_state(None) is None


def test_size_limits():
    many = normalize_state({"columns": [f"param:p{i}" for i in range(400)]})
    assert len(many["columns"]) == 300
    assert len(normalize_state({"panels": [{"type": "bar", "metric": f"m{i}"} for i in range(80)]})["panels"]) == 50
    with pytest.raises(Invalid, match="too large"):
        normalize_state({"columns": [f"param:{'p' * 250}{i}" for i in range(300)]})
    assert decode_state("A" * (MAX_STATE_BYTES + 1)) is None
    bomb = encode_state({"columns": ["sys:name"], "junk": "0" * (10 * MAX_STATE_BYTES)})  # compresses to little
    assert len(bomb) < MAX_STATE_BYTES and decode_state(bomb) is None


values = st.recursive(st.none() | st.booleans() | st.integers(-5, 10**12) | st.floats() | st.text(max_size=8)
                      | st.sampled_from(["sys:name", "param:lr", "tags", "asc", "desc", "left", "max", "line", "bar"]),
                      lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                          st.sampled_from(["colId", "width", "sort", "sortIndex", "pinned", "type", "metric", "op",
                                           "rules", "attr"]), inner, max_size=4), max_leaves=10)
states = st.fixed_dictionaries({}, optional={k: values for k in (
    "filters", "queryId", "columns", "columnState", "groupBy", "groupAgg", "hideConstant", "panelsOpen", "panels",
    "junk")})


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states)
def test_any_untrusted_state_reads_as_before(raw):
    try:
        expected = old_normalize_state(raw)
    except Invalid as exc:
        with pytest.raises(Invalid) as got:
            normalize_state(raw)
        assert got.value.message == exc.message
        return
    assert normalize_state(raw) == expected
