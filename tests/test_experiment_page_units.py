"""The experiment page's pure parts: figure builders, histogram decoding, confusion-matrix
selection, waveform envelopes, Reproduce commands and name filters."""
import io
import json
import math
import wave

import numpy as np
import pytest

from dashboard.charts import confusion_matrix as cmx
from dashboard.charts import histogram3d, line, system_metrics, waveform
from dashboard.charts.style import INVALID_NOTE
from dashboard.errors import Invalid
from dashboard.services import experiment_page as ep
from layouts.components.experiment_tables import fenced, notebook_cells


# --- histograms -------------------------------------------------------------------------

def test_bin_edges_match_comet():
    from comet_ml.data_structure import Histogram

    edges = histogram3d.bin_edges()
    assert list(edges) == list(Histogram().create_bin_values())
    assert edges[0] == -math.inf and edges[-1] == math.inf


def test_decode_comet_sparse_json_puts_counts_in_the_right_bins():
    from comet_ml.data_structure import Histogram

    h = Histogram()
    h.add([1.0, 1.0, 1.0, -2.0, -2.0, 0.0])
    decoded = histogram3d.decode(h.to_json(), step=3)
    assert decoded.step == 3
    assert decoded.counts.sum() == 6
    nearest = {v: decoded.counts[np.argmin(np.abs(decoded.centers - v))] for v in (1.0, -2.0, 0.0)}
    assert nearest == {1.0: 3, -2.0: 2, 0.0: 1}


def test_decode_dense_values_and_empty():
    edges = histogram3d.bin_edges()
    mid = len(edges) // 2
    dense = [0] * (len(edges) - 1)
    dense[mid + 10] = 4
    assert histogram3d.decode({"values": dense}).counts.tolist() == [4.0]
    assert histogram3d.decode({"index_values": []}).counts.size == 0


def test_histogram_figure_keeps_first_and_last_of_many_steps():
    hists = [histogram3d.Histogram(s, np.array([0.0, 1.0]), np.array([s, 1.0])) for s in range(1000)]
    picked = histogram3d.pick_steps(hists)
    assert len(picked) <= histogram3d.MAX_DISPLAY_STEPS
    assert picked[0].step == 0 and picked[-1].step == 999
    fig = histogram3d.figure("w", hists)
    steps = [y for y in fig.data[0].y if y is not None]
    assert min(steps) == 0 and max(steps) == 999
    assert fig.layout.scene.yaxis.autorange != "reversed"  # low steps at the back (camera on +y)
    assert "count %{z:.4~g}" in fig.data[0].hovertemplate  # 31, not d3's "31.00"


# --- confusion matrices ------------------------------------------------------------------

def test_confusion_percentages_and_hover():
    cm = cmx.parse({"labels": ["a", "b"], "matrix": [[5, 1], [2, 6]], "title": "T"})
    by_row, by_col = cmx.percentages(cm.matrix)
    assert by_row[0].tolist() == pytest.approx([5 / 6 * 100, 1 / 6 * 100])
    assert by_col[:, 0].tolist() == pytest.approx([5 / 7 * 100, 2 / 7 * 100])
    fig = cmx.figure(cm, "row")
    assert fig.data[0].z[0][0] == pytest.approx(5 / 6 * 100)
    assert "% of row" in fig.data[0].hovertemplate and "% of column" in fig.data[0].hovertemplate
    assert fig.data[0].customdata[1][0].tolist() == pytest.approx([2, 2 / 8 * 100, 2 / 7 * 100])


def test_confusion_counts_show_as_integers():
    fig = cmx.figure(cmx.parse({"labels": ["a", "b"], "matrix": [[31, 1], [2, 6]]}), "row")
    assert "count %{customdata[0]:d}" in fig.data[0].hovertemplate  # not d3's "g": 31.0000
    assert cmx.figure(cmx.parse({"labels": ["a", "b"], "matrix": [[31, 1], [2, 6]]})).data[0].text[0][0] == "31"


def test_more_than_25_categories_shows_the_most_confused():
    n = 40
    m = np.eye(n) * 10
    for i in range(30, 40):  # only categories 30..39 are confused
        m[i, (i + 1) % n] = 5 + i
    cm = cmx.restrict(cmx.parse({"matrix": m.tolist(), "labels": [f"c{i}" for i in range(n)]}))
    assert len(cm.labels) == 25
    assert {f"c{i}" for i in range(30, 40)} <= set(cm.labels)


def test_selected_categories_are_honoured_and_samples_follow():
    samples = [[[{"index": r * 10 + c, "sample": "x", "assetId": None}] for c in range(3)] for r in range(3)]
    cm = cmx.parse({"labels": ["a", "b", "c"], "matrix": [[1, 2, 3], [4, 5, 6], [7, 8, 9]], "sampleMatrix": samples})
    sub = cmx.restrict(cm, ["c", 0])
    assert sub.labels == ["a", "c"]
    assert sub.matrix.tolist() == [[1, 3], [7, 9]]
    assert cmx.cell_examples(sub, 1, 0)[0]["index"] == 20


def test_confusion_rejects_non_square():
    with pytest.raises(ValueError):
        cmx.parse({"matrix": [[1, 2]]})


# --- metric lines and system metrics -----------------------------------------------------

def _metric(name, x, y, color="#1f77b4"):
    return {"exp": {"key": "k", "name": "run", "color": color}, "metric": name, "x": x, "y": y}


def test_metric_lines_drop_invalid_and_color_by_metric():
    x = np.arange(1000, dtype=float)
    y = np.sin(x / 300)
    y[5] = np.nan
    y[6] = np.inf
    fig = line.line_figure([_metric("loss", x, y), _metric("acc", x[:10], y[:10], "#ff0000")], per_metric=True)
    assert len(fig.data) == 2 and fig.data[0].type == "scatter"  # SVG within the point budget
    assert [t.name for t in fig.data] == ["loss", "acc"]
    assert fig.data[1].line.color == "#ff0000" and fig.data[1].line.dash == "solid"
    assert any(a.text == INVALID_NOTE for a in fig.layout.annotations)


def test_ignore_outliers_narrows_the_y_range():
    y = np.ones(100)
    y[50] = 1e6
    fig = line.line_figure([_metric("m", np.arange(100.0), y)], outliers="ignore", per_metric=True)
    assert fig.layout.yaxis.range[1] < 1e6


def test_system_metric_groups():
    groups = system_metrics.group_names(["sys.cpu.percent.avg", "sys.gpu.0.gpu_utilization", "sys.ram.used",
                                         "sys.ram.percent.used", "sys.gpu.0.used_memory", "sys.load.avg", "loss"])
    assert groups == {"cpu": ["sys.cpu.percent.avg"], "gpu": ["sys.gpu.0.gpu_utilization"],
                      "gpu_memory": ["sys.gpu.0.used_memory"], "load": ["sys.load.avg"],
                      "memory": ["sys.ram.used"], "memory_percent": ["sys.ram.percent.used"]}
    figs = system_metrics.figures([_metric("sys.cpu.percent.avg", np.array([1e12, 1e12 + 60e3]),
                                           np.array([10.0, 20.0]))])
    assert [k for k, _ in figs] == ["cpu"]


def test_memory_charts_use_binary_units():
    t = np.array([1e12, 1e12 + 60e3])
    figs = dict(system_metrics.figures([
        _metric("sys.ram.used", t, np.array([25e9, 26e9])),
        _metric("sys.ram.total", t, np.array([32 * 2.0 ** 30, 32 * 2.0 ** 30])),
        _metric("sys.gpu.0.used_memory", t, np.array([512.0 * 2 ** 20, 600.0 * 2 ** 20])),
        _metric("sys.gpu.0.temperature", t, np.array([60.0, 61.0]))]))
    memory = figs["memory"]
    assert memory.layout.yaxis.title.text == "GiB" and memory.layout.title.text == "Memory (GiB)"
    total = next(d for d in memory.data if d.name == "sys.ram.total")
    assert list(total.y) == [32.0, 32.0]
    assert all(d.hovertemplate.endswith(" GiB") for d in memory.data)
    assert memory.layout.yaxis.exponentformat == "none"
    gpu = figs["gpu_memory"]
    assert gpu.layout.yaxis.title.text == "MiB" and list(gpu.data[0].y) == [512.0, 600.0]
    assert [d.name for d in figs["other"].data] == ["sys.gpu.0.temperature"]  # degrees are not bytes


def test_byte_counts_read_in_binary_units():
    from dashboard.charts.numbers import binary_unit, fmt_bytes

    assert fmt_bytes(0) == "0 B" and fmt_bytes(1023) == "1023 B" and fmt_bytes(1536) == "1.5 KiB"
    assert fmt_bytes(25e9) == "23.28 GiB" and fmt_bytes(3 * 2 ** 40) == "3 TiB"
    assert binary_unit(float("nan")) == (1.0, "B") and binary_unit(2 ** 20) == (2.0 ** 20, "MiB")


# --- waveform ----------------------------------------------------------------------------

def test_waveform_envelope_from_wav():
    rate = 8000
    samples = (np.sin(np.arange(rate) / 5) * 16000).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.tobytes())
    t, low, high, duration = waveform.envelope(buf.getvalue())
    assert duration == pytest.approx(1.0)
    assert len(t) == waveform.BUCKETS
    assert high.max() == pytest.approx(16000 / 32768, rel=0.01) and low.min() < -0.4
    with pytest.raises(ValueError):
        waveform.envelope(b"not a wav")


# --- Reproduce, filters, chart view state ------------------------------------------------

@pytest.mark.parametrize("remote,url", [
    ("git@github.com:ada/proj.git", "https://github.com/ada/proj/commit/abcdef1"),
    ("https://github.com/ada/proj.git", "https://github.com/ada/proj/commit/abcdef1"),
    ("https://token@gitlab.com/group/sub/proj", "https://gitlab.com/group/sub/proj/-/commit/abcdef1"),
    ("git@bitbucket.org:team/repo.git", "https://bitbucket.org/team/repo/commits/abcdef1"),
    ("https://example.org/ada/proj.git", None),
    ("javascript:alert(1)//github.com/a/b", None),
])
def test_commit_links_only_for_known_hosts(remote, url):
    assert ep.commit_url(remote, "abcdef1") == url


def test_restore_and_run_commands():
    from models import Asset, Experiment

    exp = Experiment(key="k" * 32, project_id=1, git_branch="refs/heads/main", git_commit="b2628a1",
                     command=json.dumps(["train.py", "--lr", "0.1 0.2"]), python_executable="/usr/bin/python3")
    patch = Asset(asset_id="p1", experiment_id=1, type="git-patch", file_name="git_diff.zip", storage_path="x")
    lines = ep.restore_commands(exp, patch, "http://halley:8050/")
    assert lines[:2] == ["git checkout main", "git checkout b2628a1"]
    assert lines[2] == ('curl -H "Authorization: $HALLEY_API_KEY" '
                        f"http://halley:8050/api/v1/experiments/{'k' * 32}/assets/p1 > patch.zip")
    assert lines[3:] == ["unzip patch.zip", "git apply git_diff.patch"]
    assert ep.run_command(exp) == "/usr/bin/python3 train.py --lr '0.1 0.2'"


def test_name_matcher_exact_regex_and_invalid():
    assert ep.name_matcher("CAT", "substring")("a cat.png")
    assert not ep.name_matcher("cat", "exact")("a cat.png")
    assert ep.name_matcher("a cat.png", "exact")("a cat.png")
    assert not ep.name_matcher("A cat.png", "exact")("a cat.png")
    with pytest.raises(Invalid, match="filter mode"):
        ep.name_matcher("x", "glob")
    assert ep.name_matcher(r"^cat_\d+", "regex")("cat_12.png")
    assert not ep.name_matcher(r"^cat_\d+", "regex")("dog_12.png")
    with pytest.raises(Invalid, match="Invalid regular expression"):
        ep.name_matcher("(", "regex")
    with pytest.raises(Invalid):
        ep.name_matcher("a" * 500, "regex")
    for evil in ("(a+)+$", "(a*)*b", "(x+x+)+y", "(a{1,5})+"):
        with pytest.raises(Invalid, match="Nested repetition"):
            ep.name_matcher(evil, "regex")
    with pytest.raises(Invalid, match="repeated group of alternatives"):
        ep.name_matcher("(a|aa)+$", "regex")
    assert ep.name_matcher("(ab)+", "regex")("xabab")


def test_filter_media_sort_and_step():
    items = [ep.MediaItem(str(i), f"{n}.png", s, None, "p", 1) for i, (n, s) in
             enumerate([("b", 2), ("a", 1), ("a", 2), ("c", None)])]
    assert [(i.name, i.step) for i in ep.filter_media(items, sort="step")] == [
        ("a.png", 1), ("a.png", 2), ("b.png", 2), ("c.png", None)]
    assert [i.name for i in ep.filter_media(items, step="2", sort="name", descending=True)] == ["b.png", "a.png"]
    assert ep.steps_of(items) == [1, 2]


def test_chart_state_is_cleaned():
    state = ep.clean_chart_state({"charts": [{"metrics": ["loss", "acc"]}, {"metrics": []}, "junk"],
                                  "colors": {"loss": "#abc", "acc": "red;background:url(x)"},
                                  "smoothing": "7", "x_axis": "evil", "extra": 1})
    assert state == {"charts": [{"metrics": ["loss", "acc"]}], "colors": {"loss": "#abc"}, "smoothing": 0.99,
                     "x_axis": "step", "ignore_outliers": False}


def test_code_fence_cannot_be_closed_by_the_code():
    code = "x = 1\n````\nprint('still code')"
    text = fenced(code, "python")
    assert text.startswith("`````python\n") and text.endswith("\n`````")


def test_notebook_cells():
    doc = {"cells": [{"cell_type": "code", "source": ["a = 1\n", "b = 2"]}, {"cell_type": "markdown", "source": "x"},
                     {"cell_type": "code", "source": "print(a)"}]}
    assert notebook_cells(doc) == ["a = 1\nb = 2", "print(a)"]


def test_single_point_metric_is_drawn_as_a_marker():
    fig = line.line_figure([_metric("acc", np.array([3.0]), np.array([0.9]))], per_metric=True)
    assert fig.data[0].mode == "markers" and list(fig.data[0].y) == [0.9]
