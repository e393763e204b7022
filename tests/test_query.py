"""The query compiler against SQLite: every operator of every attribute type, groups, and
attempts to smuggle SQL through values and attribute names."""
from datetime import datetime, timedelta, timezone

import pytest
from sqlmodel import Session, SQLModel, select

from dashboard.db import make_engine
from dashboard.errors import Invalid
from dashboard.query import compile_filters, describe_rule, project_scope
from models import (Experiment, ExperimentTag, MetricSeries, Other, Parameter, Project, User,
                    Workspace)

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('q') / 'q.db'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine) as s:
        s.add(User(username="u", email="u@x", password_hash="x"))
        s.add(Workspace(name="w"))
        s.flush()
        p = Project(workspace_id=1, name="p")
        other_project = Project(workspace_id=1, name="q")
        s.add_all([p, other_project])
        s.flush()
        rows = [
            # key, name, status, file, host, start offset h, duration s, tags, params, metrics, others
            ("a" * 32, "alpha", "finished", "train.py", "gpu1", 0, 100, ["best", "v1"],
             {"lr": ("0.01", 0.01), "opt": ("adam", None), "flag": ("True", 1.0)},
             {"loss": (0.5, 0.1, 0.9)}, {"dataset": ("mnist", None)}),
            ("b" * 32, None, "running", "train.py", "gpu2", 1, None, ["v1"],
             {"lr": ("0.1", 0.1), "opt": ("sgd", None), "flag": ("False", 0.0)},
             {"loss": (0.2, 0.2, 0.7)}, {"dataset": ("cifar", None)}),
            ("c" * 32, "gamma 100%_done", "crashed", "eval.py", None, 2, 5000, [],
             {"lr": ("auto", None), "opt": ("Adam", None)},
             {}, {"seed": ("7", 7.0)}),
            ("d" * 32, "delta", "stopped", "run_model.py", "gpu1", 3, 20, ["x'; DROP TABLE experiment; --"],
             {"lr": ("1e-3", 0.001)}, {"loss": (1.5, 0.3, 2.0), "acc": (0.9, 0.1, 0.95)}, {}),
        ]
        for key, name, status, fname, host, off, dur, tags, params, metrics, others in rows:
            start = T0 + timedelta(hours=off)
            e = Experiment(key=key, project_id=p.id, name=name, status=status, file_name=fname, host=host,
                           os_user="ada" if host == "gpu1" else "bob", start_time=start,
                           end_time=start + timedelta(seconds=dur) if dur is not None else None,
                           visible=key != "d" * 32,
                           last_heartbeat=datetime.now(timezone.utc) if status == "running" else None)
            s.add(e)
            s.flush()
            s.add_all([ExperimentTag(experiment_id=e.id, name=t) for t in tags])
            s.add_all([Parameter(experiment_id=e.id, name=n, value_text=t, value_num=v) for n, (t, v) in params.items()])
            s.add_all([MetricSeries(experiment_id=e.id, name=n, last_value=last, min_value=lo, max_value=hi)
                       for n, (last, lo, hi) in metrics.items()])
            s.add_all([Other(experiment_id=e.id, key=k, value=t, value_num=v) for k, (t, v) in others.items()])
        # an archived experiment and one in another project never match
        s.add(Experiment(key="e" * 32, project_id=p.id, name="alpha-archived", archived=True, start_time=T0))
        s.add(Experiment(key="f" * 32, project_id=other_project.id, name="alpha-elsewhere", start_time=T0))
        s.commit()
    yield engine
    engine.dispose()


def keys(db, model):
    with Session(db) as s:
        stmt = select(Experiment.key).where(project_scope(1), compile_filters(model)).order_by(Experiment.key)
        return "".join(k[0] for k in s.exec(stmt).all())


def rule(attr, operator, value=None, value2=None):
    return {"op": "and", "rules": [{"attr": attr, "operator": operator, "value": value, "value2": value2}]}


@pytest.mark.parametrize("attr,operator,value,expected", [
    ("sys:name", "contains", "AL", "a"),
    ("sys:name", "contains", "100%", "c"),          # % is a literal, not a wildcard
    ("sys:name", "contains", "%", "c"),
    ("sys:name", "contains", "_", "c"),             # _ is a literal too
    ("sys:name", "not_contains", "a", "b"),         # the key is the default name of b
    ("sys:name", "equals", "delta", "d"),
    ("sys:name", "equals", "b" * 32, "b"),
    ("sys:name", "not_equals", "delta", "abc"),
    ("sys:name", "begins_with", "gam", "c"),
    ("sys:name", "ends_with", "TA", "d"),
    ("sys:host", "is_null", None, "c"),
    ("sys:host", "is_not_null", None, "abd"),
    ("sys:host", "not_equals", "gpu1", "bc"),      # absent counts as "not equal"
    ("sys:file_name", "equals", "train.py", "ab"),
    ("sys:file_name", "begins_with", "run_", "d"),
    ("sys:user", "equals", "ada", "ad"),
    ("sys:key", "begins_with", "cc", "c"),
    ("sys:status", "equals", "finished", "a"),
    ("sys:status", "not_equals", "running", "acd"),
    ("sys:visible", "is_true", None, "abc"),
    ("sys:visible", "is_false", None, "d"),
])
def test_text_choice_and_boolean_operators_on_system_fields(db, attr, operator, value, expected):
    assert keys(db, rule(attr, operator, value)) == expected


@pytest.mark.parametrize("operator,value,value2,expected", [
    ("eq", 0.1, None, "b"),
    ("eq", "1e-3", None, "d"),
    ("ne", 0.1, None, "acd"),            # c has a text value: it is "not equal" too
    ("lt", 0.05, None, "ad"),
    ("le", 0.01, None, "ad"),
    ("gt", 0.01, None, "b"),
    ("ge", 0.01, None, "ab"),
    ("between", 0.005, 0.5, "ab"),
    ("between", 0.5, 0.005, "ab"),       # bounds in any order
    ("is_null", None, None, ""),
    ("is_not_null", None, None, "abcd"),
    ("contains", "aut", None, "c"),      # text operators read the text of mixed parameters
    ("equals", "auto", None, "c"),
    ("equals", "0.010", None, "a"),      # a number typed as text compares numerically
    ("not_equals", "0.01", None, "bcd"),
    ("begins_with", "1e", None, "d"),
    ("ends_with", "1", None, "ab"),
    ("not_contains", "0", None, "cd"),
])
def test_mixed_type_parameter(db, operator, value, value2, expected):
    assert keys(db, rule("param:lr", operator, value, value2)) == expected


def test_parameter_absent_and_boolean(db):
    assert keys(db, rule("param:flag", "is_true")) == "a"
    assert keys(db, rule("param:flag", "is_false")) == "b"
    assert keys(db, rule("param:flag", "is_null")) == "cd"
    assert keys(db, rule("param:opt", "equals", "adam")) == "a"     # equals is exact
    assert keys(db, rule("param:opt", "contains", "adam")) == "ac"  # contains ignores case
    assert keys(db, rule("param:missing", "is_null")) == "abcd"


@pytest.mark.parametrize("attr,operator,value,value2,expected", [
    ("metric:last:loss", "eq", 0.5, None, "a"),
    ("metric:last:loss", "ne", 0.5, None, "bcd"),
    ("metric:last:loss", "lt", 0.5, None, "b"),
    ("metric:last:loss", "le", 0.5, None, "ab"),
    ("metric:last:loss", "gt", 0.5, None, "d"),
    ("metric:last:loss", "ge", 0.5, None, "ad"),
    ("metric:min:loss", "between", 0.15, 0.3, "bd"),
    ("metric:max:loss", "gt", 1, None, "d"),
    ("metric:last:loss", "is_null", None, None, "c"),
    ("metric:last:acc", "is_not_null", None, None, "d"),
    ("sys:duration", "gt", 50, None, "abc"),    # a running experiment lasts until its last heartbeat
    ("sys:duration", "between", 10, 200, "ad"),
    ("sys:duration", "lt", 50, None, "d"),
])
def test_number_operators(db, attr, operator, value, value2, expected):
    assert keys(db, rule(attr, operator, value, value2)) == expected


@pytest.mark.parametrize("attr,operator,value,value2,expected", [
    ("sys:start_time", "before", "2026-01-01T13:30", None, "ab"),
    ("sys:start_time", "after", "2026-01-01T13:30", None, "cd"),
    ("sys:start_time", "between", "2026-01-01T12:30", "2026-01-01T14:30", "bc"),
    ("sys:start_time", "after", "2026-01-01T12:00:00Z", None, "bcd"),
    ("sys:end_time", "before", "2026-01-01", None, ""),
    ("sys:end_time", "is_null", None, None, "b"),
    ("sys:end_time", "is_not_null", None, None, "acd"),
])
def test_date_operators(db, attr, operator, value, value2, expected):
    assert keys(db, rule(attr, operator, value, value2)) == expected


def test_others_and_tags(db):
    assert keys(db, rule("other:dataset", "equals", "mnist")) == "a"
    assert keys(db, rule("other:seed", "ge", 7)) == "c"
    assert keys(db, rule("other:dataset", "is_null")) == "cd"
    assert keys(db, rule("tags", "has", "v1")) == "ab"
    assert keys(db, rule("tags", "has_not", "v1")) == "cd"
    assert keys(db, rule("tags", "has", "x'; DROP TABLE experiment; --")) == "d"


def test_groups_and_or_nested(db):
    assert keys(db, None) == "abcd"
    assert keys(db, {"op": "and", "rules": []}) == "abcd"
    both = {"op": "and", "rules": [
        {"attr": "sys:file_name", "operator": "equals", "value": "train.py"},
        {"attr": "metric:last:loss", "operator": "lt", "value": 0.3},
    ]}
    assert keys(db, both) == "b"
    assert keys(db, {**both, "op": "or"}) == "ab"
    nested = {"op": "and", "rules": [
        {"attr": "sys:host", "operator": "is_not_null"},
        {"op": "or", "rules": [
            {"attr": "tags", "operator": "has", "value": "best"},
            {"attr": "sys:status", "operator": "equals", "value": "stopped"},
        ]},
    ]}
    assert keys(db, nested) == "ad"
    deeper = {"op": "or", "rules": [nested, {"op": "and", "rules": [
        {"op": "and", "rules": [{"attr": "sys:name", "operator": "equals", "value": "gamma 100%_done"}]}]}]}
    assert keys(db, deeper) == "acd"


@pytest.mark.parametrize("value", [
    "'; DROP TABLE experiment; --", "\" OR 1=1 --", "') OR ('1'='1", "%' OR '1'='1", "\\", "ü'--",
])
def test_injection_in_values_is_plain_data(db, value):
    assert keys(db, rule("sys:name", "contains", value)) == ""
    assert keys(db, rule("sys:name", "equals", value)) == ""
    assert keys(db, rule("param:opt", "not_equals", value)) == "abcd"
    assert keys(db, rule("tags", "has", value)) == ""
    with Session(db) as s:
        assert len(s.exec(select(Experiment)).all()) == 6  # the table is still there


def test_injection_in_attribute_names(db):
    # a parameter name is data: it matches nothing, and the SQL text never contains it
    evil = "lr') OR 1=1 --"
    assert keys(db, rule(f"param:{evil}", "is_not_null")) == ""
    assert keys(db, rule(f"metric:last:{evil}", "gt", -1e9)) == ""
    stmt = select(Experiment.id).where(compile_filters(rule(f"param:{evil}", "is_not_null")))
    assert evil not in str(stmt.compile())
    for attr in ["sys:id; DROP TABLE experiment", "sys:password_hash", "experiment.key", "param:",
                 "metric:avg:loss", "metric:last:", "param:a\nb", "param:a\n", "param:" + "x" * 400, 5, None, ["sys:key"]]:
        with pytest.raises(Invalid):
            compile_filters(rule(attr, "is_null"))


@pytest.mark.parametrize("model", [
    rule("sys:name", "drop_table", "x"),
    rule("sys:name", "gt", 3),                 # number operator on text
    rule("metric:last:loss", "contains", "1"),  # text operator on a number
    rule("metric:last:loss", "gt", "abc"),
    rule("metric:last:loss", "gt", float("nan")),
    rule("sys:start_time", "before", "yesterday"),
    rule("sys:status", "equals", "exploded"),
    rule("sys:name", "contains", "x" * 2000),
    rule("sys:name", "contains", {"a": 1}),
    rule("sys:name", "contains", "a\x00b"),
    rule("tags", "contains", "v1"),
    {"op": "xor", "rules": []},
    {"op": "and", "rules": "sys:name"},
    {"op": "and", "rules": [{"op": "and", "rules": [{"op": "and", "rules": [{"op": "and", "rules": []}]}]}]},
    {"op": "and", "rules": [{"attr": "sys:host", "operator": "is_null"}] * 100},
    "sys:name = 'x'",
])
def test_invalid_models_are_rejected(model):
    with pytest.raises(Invalid):
        compile_filters(model)


def test_describe_rule():
    assert describe_rule({"attr": "metric:last:loss", "operator": "lt", "value": 0.3}) == "loss (last) < 0.3"
    assert describe_rule({"attr": "sys:host", "operator": "is_null"}) == "Host is null"
    assert describe_rule({"attr": "param:lr", "operator": "between", "value": 1, "value2": 2}) == "lr between 1 and 2"


# --- the table service over the same data --------------------------------------------------

def test_lost_heartbeat_reads_as_crashed(db):
    from models import Experiment as E

    with Session(db) as s:
        e = s.exec(select(E).where(E.key == "b" * 32)).one()
        e.last_heartbeat = datetime.now(timezone.utc) - timedelta(minutes=5)
        s.add(e)
        s.commit()
    try:
        assert keys(db, rule("sys:status", "equals", "crashed")) == "bc"
        assert keys(db, rule("sys:status", "equals", "running")) == ""
    finally:
        with Session(db) as s:
            e = s.exec(select(E).where(E.key == "b" * 32)).one()
            e.last_heartbeat = datetime.now(timezone.utc)
            s.add(e)
            s.commit()


def _project(s):
    return s.get(Project, 1)


def test_table_rows_sort_page_and_values(db):
    from dashboard.services import experiment_table as table

    state = table.default_state()
    state["columns"] += ["param:lr", "metric:min:loss", "other:dataset"]
    with Session(db) as s:
        rows, total = table.fetch_rows(s, _project(s), state, 0, 100)
        assert total == 4 and [r["key"][0] for r in rows] == list("dcba")   # newest first
        by_key = {r["key"][0]: r for r in rows}
        assert by_key["a"]["param:lr"] == 0.01 and by_key["c"]["param:lr"] == "auto"
        assert by_key["a"]["metric:min:loss"] == 0.1 and by_key["c"].get("metric:min:loss") is None
        assert by_key["a"]["tags"] == ["best", "v1"] and by_key["b"]["sys:name"] == "b" * 32
        assert by_key["a"]["other:dataset"] == "mnist" and by_key["a"]["sys:duration"] == 100
        # numbers sort numerically, then text, absent last
        rows, _ = table.fetch_rows(s, _project(s), state, 0, 100, [{"colId": "param:lr", "sort": "asc"}])
        assert [r["key"][0] for r in rows] == list("dabc")
        rows, _ = table.fetch_rows(s, _project(s), state, 0, 100, [{"colId": "metric:last:loss", "sort": "desc"}])
        assert [r["key"][0] for r in rows] == list("dabc")
        rows, total = table.fetch_rows(s, _project(s), state, 1, 3, [{"colId": "sys:name", "sort": "asc"}])
        assert total == 4 and [r["key"][0] for r in rows] == list("bd")
        # unknown or hostile sort columns are ignored, not compiled
        rows, _ = table.fetch_rows(s, _project(s), state, 0, 100, [{"colId": "sys:id; drop", "sort": "asc"}, "x"])
        assert len(rows) == 4


def test_group_counts_constant_columns_and_csv(db):
    from dashboard.services import experiment_table as table

    with Session(db) as s:
        p = _project(s)
        state = dict(table.default_state(), groupBy="sys:file_name")
        assert table.group_counts(s, p, state) == [("train.py", 2), ("eval.py", 1), ("run_model.py", 1)]
        assert table.group_counts(s, p, dict(state, groupBy="tags")) == [("v1", 2), ("best", 1),
                                                                          ("x'; DROP TABLE experiment; --", 1),
                                                                          (None, 1)]
        rows, total = table.fetch_rows(s, p, state, 0, 10, group=("tags", None))
        assert total == 1 and rows[0]["key"][0] == "c"
        rows, total = table.fetch_rows(s, p, state, 0, 10, group=("param:lr", 0.1))
        assert total == 1 and rows[0]["key"][0] == "b"
        state = table.default_state()
        state["columns"] = ["sys:name", "sys:file_name", "param:opt", "param:batch", "metric:max:loss"]
        state["filters"] = rule("sys:file_name", "equals", "train.py")
        # file name is the same for both; "batch" is absent everywhere; opt and loss differ
        assert table.constant_columns(s, p, state) == ["sys:file_name", "param:batch"]
        csv_text = "".join(table.iter_csv(s, p, state))
    lines = csv_text.strip().splitlines()
    assert lines[0] == "Experiment key,Name,File name,opt,batch,loss (max)"
    assert len(lines) == 3


def test_view_state_encoding_is_validated():
    from dashboard.services import experiment_table as table

    state = table.default_state()
    state["filters"] = rule("param:lr", "gt", 0.1)
    state["columnState"] = [{"colId": "sys:name", "width": 300, "sort": "desc", "sortIndex": 0, "junk": 1},
                            {"colId": "not-a-column", "width": 10}]
    encoded = table.encode_state(state)
    assert "/" not in encoded and "+" not in encoded and "=" not in encoded
    decoded = table.decode_state(encoded)
    assert decoded["filters"] == state["filters"]
    assert decoded["columnState"] == [{"colId": "sys:name", "width": 300, "sort": "desc", "sortIndex": 0}]
    assert table.decode_state("not base64!") is None
    assert table.decode_state(table.encode_state({"columns": ["sys:password_hash"]})) is None
    assert table.decode_state(table.encode_state({"filters": rule("sys:name", "gt", 1)})) is None
    with pytest.raises(Invalid):
        table.normalize_state({"groupBy": "experiment.key"})


def test_csv_cells_that_could_start_a_formula_are_quoted(db):
    """Tags are joined into one cell before the guard, so "=..." as the first tag is caught;
    tab and carriage return count as formula starts too; plain numbers stay numbers."""
    import csv
    import io

    from dashboard.services import experiment_table as table

    with Session(db) as s:
        p = Project(workspace_id=1, name="csv")
        s.add(p)
        s.flush()
        e = Experiment(key="9" * 32, project_id=p.id, name="\t=1+1", start_time=T0)
        s.add(e)
        s.flush()
        s.add_all([ExperimentTag(experiment_id=e.id, name='=HYPERLINK("https://evil.example/","x")'),
                   Parameter(experiment_id=e.id, name="@SUM(A1)", value_text="\r=2", value_num=None),
                   Parameter(experiment_id=e.id, name="neg", value_text="-0.5", value_num=-0.5),
                   Parameter(experiment_id=e.id, name="cmd", value_text="-1+cmd|' /C calc'!A0", value_num=None)])
        s.flush()
        state = table.default_state()
        state["columns"] = ["sys:name", "tags", "param:@SUM(A1)", "param:neg", "param:cmd"]
        rows = list(csv.reader(io.StringIO("".join(table.iter_csv(s, p, state)))))
        s.rollback()
    assert rows[0] == ["Experiment key", "Name", "Tags", "'@SUM(A1)", "neg", "cmd"]
    assert rows[1] == ["9" * 32, "'\t=1+1", '\'=HYPERLINK("https://evil.example/","x")', "'\r=2", "-0.5",
                       "'-1+cmd|' /C calc'!A0"]
