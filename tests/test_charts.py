"""Chart transforms, aggregations, downsampling and figures against hand-computed values."""
import math
import re

import numpy as np
import pytest

from dashboard.charts import bar, downsample, grouping, line, parcoords, scatter, transforms
from dashboard.charts.style import INVALID_NOTE, experiment_color

NAN, INF = float("nan"), float("inf")


def exp(key, name=None, color=None, **extra):
    return {"key": key, "name": name, "color": color, **extra}


def test_ema_is_debiased_like_tensorboard():
    # w = 0.5: raw s = 0.5, 1.25, 2.125; debias 0.5, 0.75, 0.875 -> 1, 5/3, 17/7
    out = transforms.ema([1, 2, 3], 0.5)
    assert out == pytest.approx([1.0, 5 / 3, 17 / 7])
    assert transforms.ema([4, 4, 4, 4], 0.9) == pytest.approx([4, 4, 4, 4])  # debiasing keeps constants
    assert list(transforms.ema([1, 2], 0)) == [1, 2]
    with pytest.raises(ValueError):
        transforms.ema([1], 1.0)


def test_moving_average_uses_partial_windows_at_the_start():
    assert transforms.moving_average([1, 2, 3, 4, 5], 3) == pytest.approx([1, 1.5, 2, 3, 4])
    assert transforms.moving_average([2, 4], 1) == pytest.approx([2, 4])


def test_aggregations_skip_and_report_invalid_values():
    values = [1, 2, 2, 3, 10, NAN, INF, -INF]
    assert transforms.aggregate(values, "count") == (5, 3)
    assert transforms.aggregate(values, "sum") == (18, 3)
    assert transforms.aggregate(values, "average") == (3.6, 3)
    assert transforms.aggregate(values, "median") == (2, 3)
    assert transforms.aggregate(values, "mode") == (2, 3)
    rms, _ = transforms.aggregate(values, "rms")
    assert rms == pytest.approx(math.sqrt((1 + 4 + 4 + 9 + 100) / 5))  # sqrt(23.6)
    std, _ = transforms.aggregate(values, "std")
    assert std == pytest.approx(math.sqrt(((1 - 3.6) ** 2 + 2 * (2 - 3.6) ** 2 + (3 - 3.6) ** 2 + 6.4 ** 2) / 5))
    assert transforms.aggregate([1, 1, 3, 3, 2], "mode") == (1, 0)  # ties: the smallest
    assert transforms.aggregate([1, 2, 3, 4], "median") == (2.5, 0)
    assert transforms.aggregate([NAN], "sum") == (0, 1)
    assert math.isnan(transforms.aggregate([], "average")[0])


def test_first_last_min_max_follow_step_order_and_skip_invalid():
    values = [5, NAN, 1, 7, INF]
    steps = [30, 0, 10, 20, 40]
    assert transforms.reduce(values, "first", steps) == 1  # step 10
    assert transforms.reduce(values, "last", steps) == 5   # step 30 (Inf at 40 skipped)
    assert transforms.reduce(values, "first") == 5
    assert transforms.reduce(values, "min") == 1
    assert transforms.reduce(values, "max") == 7
    assert transforms.axis_value([0, 1, 2], [1, 2, 3], "smoothing", smoothing=0.5) == pytest.approx(17 / 7)
    assert transforms.axis_value([0, 1, 2, 3], [1, 2, 3, 4], "moving_average", window=2) == 3.5


def test_log_axis_drops_non_positive_values():
    x, y, dropped = transforms.for_log_axis([0, 1, 2, 3], [1, 0, -2, 5])
    assert list(x) == [0, 3] and list(y) == [1, 5] and dropped == 2


def test_downsampling_keeps_a_single_spike_in_100k_points():
    x = np.arange(100_000)
    y = np.sin(x / 5000.0)
    y[61_234] = 25.0
    y[7_001] = -30.0
    xs, ys = downsample.downsample(x, y)
    assert len(xs) <= 2000
    assert ys.max() == 25.0 and ys.min() == -30.0
    assert 61_234 in xs and 7_001 in xs
    assert xs[0] == 0 and xs[-1] == 99_999
    assert np.all(np.diff(xs) > 0)
    small_x, small_y = downsample.downsample([3, 1, 2], [30, 10, 20])
    assert list(small_x) == [1, 2, 3] and list(small_y) == [10, 20, 30]


def test_grouping_mean_and_bands():
    a = (np.array([0, 1, 2]), np.array([1.0, 2.0, 3.0]))
    b = (np.array([0, 1, 2]), np.array([3.0, 4.0, 7.0]))
    g = grouping.group_stats([a, b], "mean", "minmax")
    assert list(g["x"]) == [0, 1, 2] and list(g["y"]) == [2, 3, 5]
    assert list(g["lower"]) == [1, 2, 3] and list(g["upper"]) == [3, 4, 7]
    g = grouping.group_stats([a, b], "mean", "std")
    assert list(g["upper"]) == pytest.approx([3, 4, 7])  # population std of two values = half the gap
    g = grouping.group_stats([a, b], "median", "sem")
    assert list(g["upper"]) == pytest.approx([2 + 1 / math.sqrt(2), 3 + 1 / math.sqrt(2), 5 + 2 / math.sqrt(2)])
    # A shorter series only counts where it has data; interpolation between its points.
    c = (np.array([0, 2]), np.array([0.0, 2.0]))
    d = (np.array([0, 1]), np.array([10.0, 20.0]))
    g = grouping.group_stats([c, d], "max", "none")
    assert list(g["x"]) == [0, 1, 2] and list(g["y"]) == [10, 20, 2] and list(g["n"]) == [2, 2, 1]
    assert grouping.group_label(exp("k", params={"seed": "3"}), "param", "seed") == "3"
    assert grouping.group_label(exp("k", params={}), "param", "seed") == "(none)"
    assert grouping.group_label(exp("k", tags=["b", "a"]), "tag", None) == "a, b"


def test_line_figure_legend_colors_hover_and_invalid_note():
    e1, e2 = exp("k1", "run one", "#ff0000"), exp("k2")
    series = [{"exp": e1, "metric": "loss", "x": np.arange(4), "y": np.array([1.0, NAN, 3.0, INF])},
              {"exp": e2, "metric": "loss", "x": np.arange(3), "y": np.array([1.0, 2.0, 3.0])}]
    fig = line.line_figure(series, title="Loss")
    assert [t.name for t in fig.data] == ["run one", "k2"]
    assert fig.data[0].line.color == "#ff0000" and fig.data[1].line.color == experiment_color(e2)
    assert list(fig.data[0].y) == [1, 3] and "run one" in fig.data[0].hovertemplate
    assert [a.text for a in fig.layout.annotations] == [INVALID_NOTE]
    keys = line.line_figure(series[1:], legend="key")
    assert keys.data[0].name == "k2" and not keys.layout.annotations
    grouped = line.line_figure(
        [{"exp": exp(f"k{i}", params={"lr": lr}), "metric": "acc", "x": np.arange(3), "y": np.arange(3) * i}
         for i, lr in enumerate(["0.1", "0.1", "0.2"])],
        group={"by": "param", "name": "lr", "stat": "mean", "band": "minmax"})
    names = [t.name for t in grouped.data if t.showlegend is not False]
    assert names == ["0.1 (2)", "0.2 (1)"]
    logy = line.line_figure([{"exp": e2, "metric": "m", "x": np.arange(3), "y": np.array([-1.0, 1.0, 10.0])}],
                            log_y=True)
    assert logy.layout.yaxis.type == "log" and list(logy.data[0].y) == [1, 10]


def test_bar_and_scatter_figures():
    rows = [{"exp": exp("a", "A", "#00ff00"), "value": 3.0}, {"exp": exp("b"), "value": NAN}]
    fig = bar.bar_figure(rows, metric="loss", aggregation="rms", invalid=2)
    assert list(fig.data[0].y) == [3.0] and list(fig.layout.xaxis.ticktext) == ["A"]
    assert fig.layout.yaxis.title.text == "RMS of loss" and fig.layout.annotations[0].text == INVALID_NOTE
    sc = scatter.scatter_figure([{"exp": exp("a", "A"), "x": 1.0, "y": 2.0}, {"exp": exp("b"), "x": INF, "y": 1.0},
                                 {"exp": exp("c"), "x": None, "y": 1.0}], x_title="lr", y_title="loss")
    assert list(sc.data[0].x) == [1.0] and list(sc.data[0].hovertext) == ["A"]
    assert sc.layout.annotations[0].text == INVALID_NOTE


def test_parcoords_categorical_ticks_target_color_and_brushing():
    rows = [{"exp": exp("a"), "values": {"opt": "sgd", "lr": 0.1, "loss": 0.5}},
            {"exp": exp("b"), "values": {"opt": "adam", "lr": 0.01, "loss": 0.2}},
            {"exp": exp("c"), "values": {"opt": "sgd", "lr": NAN, "loss": 0.9}},
            {"exp": exp("d"), "values": {"opt": "adam", "lr": 0.03}}]
    axes = ["opt", "lr", "loss"]
    fig = parcoords.parcoords_figure(rows, axes)
    trace = fig.data[0]
    assert [d.label for d in trace.dimensions] == axes
    assert list(trace.dimensions[0].ticktext) == ["adam", "sgd"] and list(trace.dimensions[0].values) == [1, 0]
    assert list(trace.line.color) == [0.5, 0.2]  # the right-most axis colors the lines
    assert fig.layout.annotations[0].text == INVALID_NOTE  # c had NaN; d is simply incomplete
    assert parcoords.brushed_keys(rows, axes, {"lr": [0.05, 1.0]}) == ["a"]
    assert parcoords.brushed_keys(rows, axes, {"opt": [[-0.5, 0.5]], "loss": [0, 1]}) == ["b"]
    dims, _, _ = parcoords.build_dimensions(rows, axes)
    assert parcoords.constraints_to_filters(dims, {"lr": [0.05, 1.0], "opt": [0.5, 1.5]}) == [
        {"axis": "opt", "values": ["sgd"]}, {"axis": "lr", "low": 0.05, "high": 1.0}]


def test_line_figure_draws_a_single_point_as_a_marker():
    from dashboard.charts.line import line_figure

    fig = line_figure([{"exp": {"key": "k" * 32, "name": "run"}, "metric": "acc", "x": np.array([0]), "y": np.array([0.5])}])
    assert fig.data[0].mode == "markers"


# --- user text in figures -----------------------------------------------------------------------

LINK = '<a href="https://evil.example/">x</a>'
TEMPLATE = "%{x}"
# Stand-ins that sort like the hostile strings ("%" < "<"), so both builds order things alike.
PLAIN = {TEMPLATE: "P0", LINK: "P1"}


def _strings(obj, path=""):
    """Every string in a figure dict with where it sits (numbers and arrays left out)."""
    if isinstance(obj, str):
        yield path, obj
    elif isinstance(obj, dict):
        for k, v in sorted(obj.items()):
            yield from _strings(v, f"{path}.{k}")
    elif isinstance(obj, (list, tuple)):
        for i, v in enumerate(obj):
            yield from _strings(v, f"{path}[{i}]")


def assert_shown_as_text(build):
    """``build(link, template)`` makes a figure with those strings as user names. Built with the
    hostile strings, the figure must hold only their escaped forms: putting plain names in place
    of the escaped forms gives exactly the figure built with plain names."""
    from dashboard.charts.text import plotly_text

    hostile = list(_strings(build(LINK, TEMPLATE).to_plotly_json()))
    plain = list(_strings(build(PLAIN[LINK], PLAIN[TEMPLATE]).to_plotly_json()))
    assert any(plotly_text(LINK) in text for _, text in hostile)
    assert any(plotly_text(TEMPLATE) in text for _, text in hostile)
    for _, text in hostile:
        assert "<a" not in text and "evil.example/\">" not in text
    swapped = [(path, text.replace(plotly_text(LINK), PLAIN[LINK]).replace(plotly_text(TEMPLATE), PLAIN[TEMPLATE]))
               for path, text in hostile]
    assert swapped == plain


def _series(exp_name, metric, **exp_extra):
    return {"exp": exp("k" * 32, exp_name, **exp_extra), "metric": metric,
            "x": np.array([0.0, 1.0, 2.0]), "y": np.array([1.0, 0.5, 0.25])}


def test_line_figure_shows_names_as_text():
    assert_shown_as_text(lambda link, tpl: line.line_figure(
        [_series(link, tpl)], title=link, x_axis=f"metric:{tpl}", x_label=tpl))
    assert_shown_as_text(lambda link, tpl: line.line_figure(
        [_series(link, tpl), _series(tpl, link)], title=tpl))  # two metrics: "name · metric" legends
    assert_shown_as_text(lambda link, tpl: line.line_figure(
        [_series("run", tpl, params={link: tpl}), _series("run", tpl, params={link: link})],
        group={"by": "param", "name": link, "stat": "mean", "band": "minmax"}))
    assert_shown_as_text(lambda link, tpl: line.line_figure(
        [_series("run", link, tags=[link, tpl])], group={"by": "tag", "stat": "mean", "band": "none"}))


def test_bar_figure_shows_names_as_text():
    assert_shown_as_text(lambda link, tpl: bar.bar_figure(
        [{"exp": exp("a" * 32, link), "value": 1.0}, {"exp": exp("b" * 32, tpl), "value": 2.0}],
        metric=tpl, title=link))
    assert_shown_as_text(lambda link, tpl: bar.bar_figure([], metric=f"{link}{tpl}"))


def test_scatter_figure_shows_names_as_text():
    assert_shown_as_text(lambda link, tpl: scatter.scatter_figure(
        [{"exp": exp("a" * 32, link), "x": 1.0, "y": 2.0}, {"exp": exp("b" * 32, tpl), "x": 2.0, "y": 3.0}],
        x_title=scatter.axis_title(link, "none", True), y_title=scatter.axis_title(tpl, "last", False), title=tpl))


def test_parcoords_figure_shows_names_as_text():
    def build(link, tpl, categories=("sgd", "adam")):
        axes = ["param:opt", "param:lr", "metric:loss"]
        rows = [{"exp": exp("a" * 32), "values": {"param:opt": categories[0], "param:lr": 0.1, "metric:loss": 0.5}},
                {"exp": exp("b" * 32), "values": {"param:opt": categories[1], "param:lr": 0.2, "metric:loss": 0.4}}]
        return parcoords.parcoords_figure(rows, axes, title=link,
                                          labels={"param:opt": tpl, "param:lr": link, "metric:loss": tpl})
    assert_shown_as_text(build)
    # Category ticks are drawn with d3's text(), never as markup: they stay as typed (an
    # entity there would show literally).
    ticks = build("opt", "lr", categories=(LINK, TEMPLATE)).data[0].dimensions[0].ticktext
    assert list(ticks) == [TEMPLATE, LINK]


def test_crowded_bar_and_parallel_coordinates_stay_readable():
    """Past a dozen bars, names leave the axis (hover has them); past four axes, the
    parallel-coordinates labels slant so neighbours don't overlap."""
    def bars(n):
        return bar.bar_figure([{"exp": exp(f"{i:032d}", name=f"run-{i}"), "value": float(i + 1)} for i in range(n)],
                              metric="loss")
    few, many = bars(bar.MAX_NAMED_BARS), bars(bar.MAX_NAMED_BARS + 1)
    assert few.layout.xaxis.showticklabels is True and few.layout.xaxis.title.text == "Experiment"
    assert many.layout.xaxis.showticklabels is False and "13 experiments" in many.layout.xaxis.title.text
    assert list(many.data[0].hovertext)[0] == "run-0"

    def coords(n_axes):
        axes = [f"param:p{j}" for j in range(n_axes - 1)] + ["metric:loss"]
        rows = [{"exp": exp(f"{i:032d}"), "values": {a: float(i + j) for j, a in enumerate(axes)}} for i in range(3)]
        return parcoords.parcoords_figure(rows, axes).data[0]
    assert coords(4).labelangle == 0 and coords(5).labelangle == -25


def _lab(hex_color: str) -> np.ndarray:
    """CIELAB (D65) of an sRGB color."""
    rgb = np.array([int(hex_color[i:i + 2], 16) for i in (1, 3, 5)]) / 255
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    f = np.cbrt(np.maximum(xyz / np.array([0.95047, 1.0, 1.08883]), (6 / 29) ** 3))
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def test_palette_has_twenty_well_separated_colors_readable_on_white():
    from dashboard.charts.style import PALETTE

    assert len(PALETTE) >= 20 and all(re.fullmatch("#[0-9a-f]{6}", c) for c in PALETTE)
    labs = [_lab(c) for c in PALETTE]
    nearest = min(np.linalg.norm(a - b) for i, a in enumerate(labs) for b in labs[i + 1:])
    assert nearest > 20  # CIE76 distance; the old palette's #2ca02c and #109618 were 5 apart
    assert max(lab[0] for lab in labs) < 70  # no pale color that fades into a white chart


def test_experiment_color_prefers_picked_then_order_then_key():
    from dashboard.charts.style import PALETTE

    assert experiment_color({"key": "a" * 32, "color": "#123456", "color_index": 3}) == "#123456"
    assert [experiment_color({"key": "a" * 32, "color_index": i}) for i in range(20)] == list(PALETTE[:20])
    assert experiment_color({"key": "a" * 32, "color_index": 20}) == PALETTE[0]  # it wraps
    assert experiment_color({"key": "a" * 32}) == experiment_color({"key": "a" * 32, "color_index": None}) in PALETTE


# --- readable at scale: legends, log parallel coordinates, 4-digit numbers, categories ----------

def _lines(n, **kwargs):
    return line.line_figure([{"exp": exp(f"{i:032d}", name=f"run-{i}"), "metric": "loss", "x": np.arange(3),
                              "y": np.array([1.0, 0.5, 0.25])} for i in range(n)], **kwargs)


def test_numbers_read_with_four_significant_digits():
    from dashboard.charts.numbers import D3, fmt, tidy
    from dashboard.query import describe_rule

    assert fmt(0.000123456789) == "0.0001235" and fmt(123456.789) == "1.235e+5"
    assert [fmt(v) for v in (0.5, 1.0, 100.0, 1e-7, -0.00234567, 0.0)] == ["0.5", "1", "100", "1e-7", "-0.002346", "0"]
    assert fmt(123456) == "123456" and fmt("adam") == "adam"  # integers and text as they are
    assert tidy(10 ** math.log10(0.005)) == 0.005
    assert describe_rule({"attr": "param:lr", "operator": "between", "value": 0.000123456789,
                          "value2": 123456.789}) == "lr between 0.0001235 and 1.235e+5"
    # Hover templates use the same 4 digits (d3's ~g writes what fmt writes).
    assert D3 in _lines(1).data[0].hovertemplate
    assert D3 in bar.bar_figure([{"exp": exp("a"), "value": 1 / 3}], metric="m").data[0].hovertemplate


def test_line_legend_goes_under_the_plot_and_hides_past_ten_lines():
    few = _lines(line.LEGEND_MAX)
    assert few.layout.showlegend is True and few.layout.legend.orientation == "h"
    assert few.layout.legend.yref == "container"
    many = _lines(line.LEGEND_MAX + 1)
    assert many.layout.showlegend is False
    assert all(f"run-{i}" in t.hovertemplate for i, t in enumerate(many.data))  # hover still names each run
    shown = _lines(100, show_legend="show")
    assert shown.layout.showlegend is True and shown.layout.legend.orientation == "v"
    assert _lines(2, show_legend="hide").layout.showlegend is False


def test_line_x_transforms_and_log_x():
    series = [{"exp": exp("a"), "metric": "loss", "x": np.array([0.0, 1.0, 2.0, 3.0]), "y": np.array([4.0, 3, 2, 1])}]
    logx = line.line_figure(series, log_x=True)
    assert logx.layout.xaxis.type == "log" and list(logx.data[0].x) == [1, 2, 3] and list(logx.data[0].y) == [3, 2, 1]
    avg = line.line_figure(series, x_axis="metric:acc", window=2, x_transform="moving_average")
    assert list(avg.data[0].x) == pytest.approx([0, 0.5, 1.5, 2.5])
    smooth = line.line_figure(series, x_axis="metric:acc", smoothing=0.5, x_transform="smoothing")
    assert list(smooth.data[0].x) == pytest.approx(transforms.ema([0, 1, 2, 3], 0.5))
    wall = line.line_figure(series, x_axis="wall", window=2, x_transform="moving_average", log_x=True)
    assert list(wall.data[0].x) == [0, 1, 2, 3] and wall.layout.xaxis.type == "date"


def test_parcoords_log_axis_ticks_show_real_values_and_brushes_stay_real():
    lrs = [0.1, 0.03, 0.01, 0.003, 0.001]
    rows = [{"exp": exp(f"k{i}"), "values": {"lr": lr, "wd": 1 + i * 10.0, "neg": i - 2.0, "loss": 0.1 * (i + 1)}}
            for i, lr in enumerate(lrs)]
    axes = ["lr", "wd", "neg", "loss"]
    dims = parcoords.parcoords_figure(rows, axes, constraints={"lr": [0.002, 0.05]}).data[0].dimensions
    # lr spans two decades: drawn as log10 with the real values as tick labels
    assert list(dims[0].values) == pytest.approx(np.log10(lrs))
    assert list(dims[0].ticktext) == ["0.001", "0.002", "0.005", "0.01", "0.02", "0.05", "0.1"]
    assert list(dims[0].tickvals) == pytest.approx(np.log10([0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1]))
    assert list(dims[0].constraintrange) == pytest.approx(np.log10([0.002, 0.05]))  # the kept brush, in log units
    # 1..41 is under two decades; values <= 0 can't go on a log axis: both linear, 4-digit ticks
    assert list(dims[1].values) == [1, 11, 21, 31, 41] and dims[1].tickformat == ".4~g" and dims[1].tickvals is None
    assert list(dims[2].values) == [-2, -1, 0, 1, 2]
    # per-axis choice: force log on wd, linear on lr
    forced = parcoords.parcoords_figure(rows, axes, scales={"lr": "linear", "wd": "log", "neg": "log"}).data[0]
    assert list(forced.dimensions[0].values) == lrs and forced.dimensions[0].ticktext is None
    assert list(forced.dimensions[1].values) == pytest.approx(np.log10([1, 11, 21, 31, 41]))
    assert list(forced.dimensions[2].values) == [-2, -1, 0, 1, 2]  # can't: stays linear
    # Plotly sends a log axis' brush in log10 units; it comes back as real values, and those select.
    restyle = [{"dimensions[0].constraintrange": [[math.log10(0.002), math.log10(0.05)]]}, [0]]
    real = parcoords.constraint_updates(restyle, axes, {"lr"})
    assert real == {"lr": [[0.002, 0.05]]}
    assert parcoords.constraint_updates(restyle, axes) == {"lr": [[pytest.approx(-2.699, abs=1e-3),
                                                                    pytest.approx(-1.301, abs=1e-3)]]}
    assert parcoords.brushed_keys(rows, axes, real) == ["k1", "k2", "k3"]
    built, _, _ = parcoords.build_dimensions(rows, axes)
    assert parcoords.log_axes(built) == {"lr"}
    assert parcoords.constraints_to_filters(built, real) == [{"axis": "lr", "low": 0.002, "high": 0.05}]


def test_parcoords_many_axes_and_many_categories_stay_readable():
    axes = [f"param:a_rather_long_parameter_name_{j}" for j in range(11)] + ["metric:loss"]
    rows = [{"exp": exp(f"k{i}"), "values": {a: float(i + j) for j, a in enumerate(axes)}} for i in range(3)]
    trace = parcoords.parcoords_figure(rows, axes).data[0]
    assert all(len(d.label) <= 14 for d in trace.dimensions) and trace.labelangle == -40
    cats = [{"exp": exp(f"k{i}"), "values": {"c": f"cat-{i:03d}", "loss": float(i)}} for i in range(100)]
    dim = parcoords.parcoords_figure(cats, ["c", "loss"]).data[0].dimensions[0]
    assert len(dim.ticktext) == parcoords.MAX_TICKS and dim.ticktext[0] == "cat-000" and dim.ticktext[-1] == "cat-099"
    assert [int(v) for v in dim.tickvals] == [int(t[4:]) for t in dim.ticktext]  # each tick names its category


def scatter_points(fig) -> dict[str, dict]:
    """Each point of a scatter figure by experiment key: x, y, customdata and color."""
    return {c[0]: {"x": x, "y": y, "customdata": list(c), "color": t.marker.color}
            for t in fig.data for x, y, c in zip(t.x, t.y, t.customdata)}


def test_parcoords_leaves_room_above_for_its_longest_label_only():
    def top(names):
        rows = [{"exp": exp(f"k{i}"), "values": {a: float(i + j) for j, a in enumerate(names)}} for i in range(3)]
        return parcoords.parcoords_figure(rows, names).layout.margin.t
    short, long = [f"p{j:02d}" for j in range(10)], [f"a_rather_long_parameter_name_{j}" for j in range(10)]
    assert top(short) < top(long) == 50 + 60  # long names are cut to 14 characters: the full room
    assert top(short) == 50 + parcoords.label_room(3, many=True) and 15 < parcoords.label_room(3, many=True) < 30
    assert top(["lr", "loss"]) == 50  # two axes: labels are level


def test_scatter_of_a_categorical_parameter_jitters_points_and_names_categories():
    opts = ["sgd", "adam", "rmsprop"]
    rows = [{"exp": exp(f"k{i}", f"run-{i}"), "x": opts[i % 3], "y": 0.123456789 * i} for i in range(9)]
    fig = scatter.scatter_figure(rows, x_title="optimizer", y_title="loss")
    assert list(fig.layout.xaxis.ticktext) == ["adam", "rmsprop", "sgd"]
    assert list(fig.layout.xaxis.tickvals) == [0, 1, 2]
    shown = scatter_points(fig)
    xs = np.array([shown[f"k{i}"]["x"] for i in range(9)])
    codes = np.array([["adam", "rmsprop", "sgd"].index(opts[i % 3]) for i in range(9)])
    assert np.all(np.abs(xs - codes) <= scatter.JITTER) and len(set(np.round(xs - codes, 6))) > 1  # spread out
    assert [shown[f"k{i}"]["y"] for i in range(9)] == pytest.approx([0.123456789 * i for i in range(9)])
    assert shown["k0"]["customdata"] == ["k0", "sgd"] and shown["k1"]["customdata"] == ["k1", "adam"]
    assert all("optimizer: %{customdata[1]}<br>loss: %{y:.4~g}" in t.hovertemplate for t in fig.data)
    # the same figure on every redraw; y can be the categorical one too
    again = scatter_points(scatter.scatter_figure(rows, x_title="o", y_title="l"))
    assert [again[f"k{i}"]["x"] for i in range(9)] == list(xs)
    flipped = scatter.scatter_figure([{**r, "x": r["y"], "y": r["x"]} for r in rows], x_title="loss", y_title="o")
    assert list(flipped.layout.yaxis.ticktext) == ["adam", "rmsprop", "sgd"]
    assert all("loss: %{x:.4~g}<br>o: %{customdata[1]}" in t.hovertemplate for t in flipped.data)
    # numbers logged as text stay numbers
    numeric = scatter.scatter_figure([{"exp": exp("a"), "x": "0.1", "y": 1.0}, {"exp": exp("b"), "x": "0.2", "y": 2.0}],
                                     x_title="lr", y_title="loss")
    assert sorted(p["x"] for p in scatter_points(numeric).values()) == [0.1, 0.2]
    assert numeric.layout.xaxis.ticktext is None


def test_scatter_draws_each_color_as_one_trace():
    """Points of one color share a trace (the browser parses each trace's color once), the
    largest groups first; every point keeps its experiment's color and key."""
    colors = ["#aa0000", "#00aa00", "#0000aa"]
    rows = [{"exp": exp(f"k{i}", f"run-{i}", colors[i % 3]), "x": float(i), "y": float(i % 4)} for i in range(30)]
    rows.append({"exp": exp("picked", "mine", "#ff00ff"), "x": 0.5, "y": 0.5})
    fig = scatter.scatter_figure(rows, x_title="x", y_title="y")
    assert [t.marker.color for t in fig.data] == [*colors, "#ff00ff"]  # a color of its own is drawn last, on top
    assert [len(t.x) for t in fig.data] == [10, 10, 10, 1]
    shown = scatter_points(fig)
    assert {k: (p["x"], p["y"], p["color"]) for k, p in shown.items()} == {
        **{f"k{i}": (float(i), float(i % 4), colors[i % 3]) for i in range(30)}, "picked": (0.5, 0.5, "#ff00ff")}
    assert all(t.showlegend is False for t in fig.data)


def test_scatter_category_names_are_shown_as_text():
    assert_shown_as_text(lambda link, tpl: scatter.scatter_figure(
        [{"exp": exp("a" * 32, "A"), "x": link, "y": 2.0}, {"exp": exp("b" * 32, "B"), "x": tpl, "y": 3.0}],
        x_title="opt", y_title="loss"))


def test_old_panel_configs_load_with_the_new_settings_at_their_defaults():
    from dashboard.services.panel_configs import normalize_panel

    old_line = normalize_panel({"id": "abc", "type": "line", "metrics": ["loss"], "logY": True})
    assert old_line["xTransform"] == "none" and old_line["showLegend"] == "auto" and old_line["logX"] is False
    old_pc = normalize_panel({"id": "abc", "type": "parcoords", "axes": ["param:lr", "metric:acc"]})
    assert old_pc["scales"] == {}
    new = normalize_panel({"type": "parcoords", "axes": ["param:lr", "metric:acc"],
                           "scales": {"param:lr": "log", "metric:acc": "sideways", "param:gone": "log"}})
    assert new["scales"] == {"param:lr": "log"}
    bad = normalize_panel({"type": "line", "metrics": ["m"], "xTransform": "cube", "showLegend": 1, "logX": "yes"})
    assert (bad["xTransform"], bad["showLegend"], bad["logX"]) == ("none", "auto", False)


def test_parcoords_ignores_constraints_that_are_not_ranges():
    rows = [{"exp": exp(f"k{i}"), "values": {"lr": 10.0 ** -i, "loss": float(i)}} for i in range(4)]
    for junk in ("x", [1], [["a", "b"]], [[1, float("nan")]], {"lo": 1}, [True, False], []):
        dim = parcoords.parcoords_figure(rows, ["lr", "loss"], constraints={"lr": junk}).data[0].dimensions[0]
        assert dim.constraintrange is None, junk
    junk_all = parcoords.parcoords_figure(rows, ["lr", "loss"], constraints="junk")
    assert junk_all.data[0].dimensions[0].constraintrange is None
    assert parcoords.constraint_updates([{"dimensions[0].constraintrange": [["a", 1]]}], ["lr", "loss"], {"lr"}) == {
        "lr": None}


def test_many_lines_share_the_point_budget_and_keep_their_spikes():
    steps = np.arange(1000, dtype=float)
    series = [{"exp": exp(f"k{i}", color_index=i), "metric": "loss", "x": steps,
               "y": np.where(steps == 300 + i, 50.0, np.linspace(1, 0, 1000))} for i in range(100)]
    fig = line.line_figure(series)
    assert len(fig.data) == 100 and all(len(t.x) == line.POINT_BUDGET // 100 for t in fig.data)
    for i, t in enumerate(fig.data):
        x, y = np.asarray(t.x), np.asarray(t.y)
        assert x[0] == 0 and x[-1] == 999 and np.all(np.diff(x) > 0)
        assert y.max() == 50.0 and x[np.argmax(y)] == 300 + i  # the spike survives
    few = line.line_figure(series[:10])
    assert all(len(t.x) == 1000 for t in few.data)  # within the budget: every point
    crowded = line.line_figure([{**s, "exp": exp(f"c{i}")} for i, s in enumerate(series * 3)])
    assert all(len(t.x) == line.MIN_SHARE for t in crowded.data)  # never fewer than the least share
    wobbly = line.line_figure([{**s, "x": np.sin(steps)} for s in series])  # x of another metric, going back
    assert all(len(t.x) == 1000 for t in wobbly.data)


def test_charts_draw_as_svg_within_the_budget_and_webgl_beyond():
    """SVG draws a line trace as one path; WebGL only when the points outgrow SVG (a page keeps
    only 16 WebGL contexts, and setting one up costs seconds without a GPU)."""
    def lines(runs, points):
        return [{"exp": exp(f"k{i}", color_index=i), "metric": "loss", "x": np.arange(points, dtype=float),
                 "y": np.linspace(1, 0, points)} for i in range(runs)]
    assert {t.type for t in line.line_figure(lines(100, 1000)).data} == {"scatter"}
    assert {t.type for t in line.line_figure(lines(201, 2000)).data} == {"scatter"}  # thinned to the budget
    back_and_forth = [{**s, "x": np.sin(np.arange(2000.0))} for s in lines(201, 2000)]  # x of another metric
    assert {t.type for t in line.line_figure(back_and_forth).data} == {"scattergl"}

    def points(n):
        return [{"exp": exp(f"k{i}"), "x": float(i), "y": float(i % 7)} for i in range(n)]
    assert scatter.scatter_figure(points(5000), x_title="x", y_title="y").data[0].type == "scatter"
    assert scatter.scatter_figure(points(5001), x_title="x", y_title="y").data[0].type == "scattergl"


def test_bar_over_many_experiments_says_which_it_shows():
    rows = [{"exp": exp(f"k{i}"), "value": float(i)} for i in range(bar.MAX_BARS)]
    fig = bar.bar_figure(rows, metric="loss", total=12_345)
    assert len(fig.data[0].y) == bar.MAX_BARS
    assert fig.layout.xaxis.title.text == f"Latest {bar.MAX_BARS:,} of 12,345 experiments"
    assert "Latest" not in bar.bar_figure(rows[:20], metric="loss", total=20).layout.xaxis.title.text


def test_parcoords_over_many_experiments_draws_a_sample_on_axes_that_span_all():
    n = parcoords.MAX_LINES * 3 + 7
    rng = np.random.default_rng(3)
    lrs = 10 ** rng.uniform(-5, -1, n)
    rows = [{"exp": exp(f"k{i}"), "values": {"opt": ("sgd", "adam", "lion")[i % 3], "lr": float(lrs[i]),
                                             "loss": float(i)}} for i in range(n)]
    axes = ["opt", "lr", "loss"]
    fig = parcoords.parcoords_figure(rows, axes)
    trace = fig.data[0]
    assert all(len(d.values) == parcoords.MAX_LINES for d in trace.dimensions)
    assert len(trace.line.color) == parcoords.MAX_LINES
    opt, lr, loss = trace.dimensions
    assert list(opt.range) == [0, 2] and list(opt.ticktext) == ["adam", "lion", "sgd"]
    assert lr.range[0] == pytest.approx(np.log10(lrs.min())) and lr.range[1] == pytest.approx(np.log10(lrs.max()))
    assert list(loss.range) == [0, n - 1] and (trace.line.cmin, trace.line.cmax) == (0, n - 1)
    assert any(a.text.startswith(f"{parcoords.MAX_LINES:,} of {n:,} lines drawn") for a in fig.layout.annotations)
    # the same lines every time, the first and the last among them
    again = parcoords.parcoords_figure(rows, axes).data[0]
    assert list(again.dimensions[2].values) == list(loss.values) and loss.values[0] == 0 and loss.values[-1] == n - 1
    # a brush selects among every experiment, drawn or not
    assert len(parcoords.brushed_keys(rows, axes, {"loss": [0, n]})) == n
    few = parcoords.parcoords_figure(rows[:50], axes)
    assert len(few.data[0].dimensions[0].values) == 50 and not few.layout.annotations
