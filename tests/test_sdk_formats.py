"""SDK encoders and parsers, checked against hand-computed values and comet_ml itself."""
import io
import json
import math
import subprocess
import sys
import textwrap
import wave

import numpy as np
import pytest
from PIL import Image

from dashboard.sdk.environment import parse_cli_args
from dashboard.sdk.formats import (array_to_png, confusion_matrix_json, flatten_parameters, histogram_edges,
                                   histogram_json, image_bytes, json_number, json_value, wav_bytes)


def test_sdk_imports_without_the_server_stack():
    code = textwrap.dedent("""
        import sys
        for name in ("dash", "flask", "sqlmodel", "sqlalchemy", "models", "numpy", "PIL", "app",
                     "dashboard.db", "dashboard.services", "dashboard.config", "dashboard.api"):
            sys.modules[name] = None
        import dashboard.sdk as sdk
        print(sorted(n for n in ("Experiment", "OfflineExperiment", "API", "APIExperiment",
                                 "InterruptedExperiment", "ExistingExperiment") if hasattr(sdk, n)))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(sorted(["Experiment", "OfflineExperiment", "API", "APIExperiment",
                                              "InterruptedExperiment", "ExistingExperiment"]))


def test_non_finite_numbers_become_comet_strings():
    assert [json_number(v) for v in (float("nan"), float("inf"), -float("inf"), 1.5, 3, True)] == \
        ["NaN", "Infinity", "-Infinity", 1.5, 3, True]
    assert json_number(np.float32(0.5)) == 0.5 and json_number(np.int64(7)) == 7
    assert json_value({"a": [np.nan, np.array([1, 2])], "b": {"c": np.inf}}) == \
        {"a": ["NaN", [1, 2]], "b": {"c": "Infinity"}}


def test_nested_parameters_flatten_with_pipes():
    flat, nested = flatten_parameters({"lr": 0.1, "model": {"layers": [64, 32], "act": {"fn": "relu"}}})
    assert flat == {"lr": 0.1, "model|layers": [64, 32], "model|act|fn": "relu"} and nested
    flat, nested = flatten_parameters({"a": 1}, prefix="opt")
    assert flat == {"opt_a": 1} and not nested
    assert flatten_parameters({"val": {"acc": 1}}, separator="/")[0] == {"val/acc": 1}


def test_histogram_bins_follow_comets_edge_rule():
    # start=1, stop=10, step=2: edges [-inf, -8, -4, -2, -1, 0, 1, 2, 4, 8, inf], midpoint 5
    assert histogram_edges(1, 10, 2) == [-math.inf, -8, -4, -2, -1, 0, 1, 2, 4, 8, math.inf]
    h = histogram_json([3, 3, -3, 0, 1, 0.5, 5, 10, 20, float("nan")], start=1, stop=10, step=2)
    # 3 -> ceil(log2 3)=2 -> bin 7; -3 -> 5-1-2 = 2; 0 -> 5; 1 -> ceil(0) = 0 -> 5;
    # 0.5 -> ceil(-1) -> 4; 5 -> ceil(log2 5)=3 -> 8; 10 and 20 (>= stop) and NaN are dropped
    assert h == {"version": 2, "index_values": [[2, 1], [4, 1], [5, 2], [7, 2], [8, 1]], "values": None,
                 "offset": 0, "start": 1, "stop": 10, "step": 2}
    shifted = histogram_json([6.0], start=1, stop=10, step=2, offset=5)
    # offset 5: edges stop at 5 + 4 (5 + 8 > stop) -> 9 edges, midpoint 4; 6 - 5 = 1 -> ceil(0) + 4
    assert histogram_edges(1, 10, 2, offset=5) == [-math.inf, 1, 3, 4, 5, 6, 7, 9, math.inf]
    assert shifted["index_values"] == [[4, 1]]


def test_histogram_matches_comet_ml():
    from comet_ml.data_structure import Histogram

    values = np.random.default_rng(3).normal(0, 2, size=(200, 3))
    ours = histogram_json(values)
    theirs = Histogram()
    theirs.add(values.copy())
    expected = theirs.to_json()
    assert ours["index_values"] == expected["index_values"]
    assert {k: ours[k] for k in ("version", "offset", "start", "stop", "step", "values")} == \
        {k: expected[k] for k in ("version", "offset", "start", "stop", "step", "values")}
    assert len(histogram_edges()) == len(theirs.values)
    assert sum(c for _, c in ours["index_values"]) == 600


def test_confusion_matrix_from_labels():
    cm = confusion_matrix_json([0, 1, 2, 2, 1], [0, 2, 2, 1, 1], labels=["cat", "dog", "bird"], title="CM")
    assert cm == {"version": 1, "title": "CM", "labels": ["cat", "dog", "bird"],
                  "matrix": [[1, 0, 0], [0, 1, 1], [0, 1, 1]], "rowLabel": "Actual Category",
                  "columnLabel": "Predicted Category", "maxSamplesPerCell": 25, "sampleMatrix": None,
                  "type": None}


def test_confusion_matrix_matches_comet_ml_for_vectors():
    from comet_ml.confusion_matrix import ConfusionMatrix

    y_true = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1]]
    y_pred = [[0.8, 0.1, 0.1], [0.2, 0.3, 0.5], [0.1, 0.1, 0.8], [0.6, 0.2, 0.2]]
    theirs = ConfusionMatrix(y_true, y_pred).to_json()
    ours = confusion_matrix_json(y_true, y_pred)
    assert ours["matrix"] == theirs["matrix"] and ours["labels"] == theirs["labels"]
    assert ours == {**theirs, "sampleMatrix": None, "type": None}


def test_confusion_matrix_text_examples_and_cell_limit():
    y_true = [0, 0, 0, 1]
    y_pred = [0, 0, 1, 1]
    cm = confusion_matrix_json(y_true, y_pred, max_examples_per_cell=1,
                               index_to_example=lambda i: f"example {i}")
    assert cm["type"] == "string"
    assert cm["sampleMatrix"] == [[[{"index": 0, "sample": "example 0", "assetId": None}],
                                   [{"index": 2, "sample": "example 2", "assetId": None}]],
                                  [None, [{"index": 3, "sample": "example 3", "assetId": None}]]]


def test_confusion_matrix_keeps_the_most_confused_categories():
    matrix = [[5, 1, 0], [1, 0, 2], [0, 0, 9]]
    cm = confusion_matrix_json(matrix=matrix, max_categories=2)
    assert cm["labels"] == ["1", "0"]  # fewest correct first: 0 (row 1), 5 (row 0)
    assert cm["matrix"] == [[0, 1], [1, 5]]


def test_wav_is_pcm16():
    t = np.linspace(0, 1, 800, endpoint=False)
    samples = 0.5 * np.sin(2 * np.pi * 5 * t)
    data = wav_bytes(samples, 8000)
    with wave.open(io.BytesIO(data)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()) == (1, 2, 8000, 800)
        frames = np.frombuffer(w.readframes(800), dtype="<i2")
    assert np.array_equal(frames, (samples * 32767).astype("<i2"))
    stereo = wav_bytes(np.zeros((10, 2), dtype=np.int16), 44100)
    with wave.open(io.BytesIO(stereo)) as w:
        assert w.getnchannels() == 2 and w.getnframes() == 10


def test_arrays_become_png():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    img = Image.open(io.BytesIO(array_to_png(grey)))
    assert img.size == (4, 3) and np.array_equal(np.asarray(img), grey)
    rgb = np.zeros((2, 2, 3))
    rgb[0, 0] = [1.0, 0.5, 0]
    back = np.asarray(Image.open(io.BytesIO(array_to_png(rgb))))
    assert back.shape == (2, 2, 3) and back[0, 0].tolist() == [255, 128, 0]
    with pytest.raises(ValueError):
        array_to_png(np.zeros((2, 2, 5)))


def test_images_from_pil_files_and_file_likes(tmp_path):
    pil = Image.new("RGB", (3, 2), (10, 20, 30))
    data, ext = image_bytes(pil)
    assert ext == "png" and Image.open(io.BytesIO(data)).getpixel((2, 1)) == (10, 20, 30)
    path = tmp_path / "photo.jpg"
    pil.save(path, format="JPEG")
    assert image_bytes(str(path)) == (path.read_bytes(), "jpg")
    assert image_bytes(io.BytesIO(data)) == (data, "png")
    with pytest.raises(TypeError):
        image_bytes(object())


def test_cli_arguments_parse_like_comet():
    assert parse_cli_args(["--lr", "0.1", "-b", "32", "--fast", "--name=run", "--layers", "[1, 2]"]) == \
        {"lr": 0.1, "b": 32, "fast": True, "name": "run", "layers": [1, 2]}
    assert parse_cli_args(["--offset", "-3", "--last"]) == {"offset": -3, "last": True}
    assert parse_cli_args(["data.csv", "--x", "1"]) == {"run_arg_0": "data.csv", "run_arg_1": "--x", "run_arg_2": "1"}
    assert json.dumps(parse_cli_args([]))


def test_image_scale_shape_channels_and_minmax():
    chw = np.zeros((3, 4, 6), dtype=np.float64)  # channels first: 3 x H4 x W6
    chw[0] = 10.0
    data, _ = image_bytes(chw, channels="first", minmax=(0, 10))
    img = Image.open(io.BytesIO(data))
    assert img.size == (6, 4) and img.getpixel((0, 0)) == (255, 0, 0)
    assert Image.open(io.BytesIO(image_bytes(chw, scale=0.5, channels="first")[0])).size == (3, 2)
    assert Image.open(io.BytesIO(image_bytes(Image.new("L", (8, 8)), shape=(2, 3))[0])).size == (2, 3)


LOGGING_METHODS = ["set_name", "get_name", "get_key", "add_tag", "add_tags", "get_tags", "log_metric", "log_metrics",
                   "log_parameter", "log_parameters", "log_other", "log_others", "log_html", "log_html_url",
                   "log_image", "log_asset", "log_asset_data", "log_audio", "log_text", "log_confusion_matrix",
                   "log_histogram_3d", "set_model_graph", "log_code", "log_system_info", "set_step", "set_epoch",
                   "train", "validate", "test", "end", "flush", "log_curve", "context_manager", "log_epoch_end"]


def _positional(func):
    import inspect

    return [p.name for p in inspect.signature(func).parameters.values()
            if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)]


def test_signatures_match_comet_ml(monkeypatch):
    """Switching is a one-line import change: every comet_ml parameter exists here, in the same order."""
    monkeypatch.setenv("COMET_DISABLE_AUTO_LOGGING", "1")
    import comet_ml

    from dashboard.sdk import API, APIExperiment, Experiment, OfflineExperiment

    pairs = [(getattr(comet_ml.Experiment, m), getattr(Experiment, m)) for m in LOGGING_METHODS]
    pairs += [(getattr(comet_ml.API, m), getattr(API, m))
              for m in ("get", "get_experiment", "get_experiments", "get_experiment_by_key", "stop_experiment")]
    pairs += [(getattr(comet_ml.APIExperiment, m), getattr(APIExperiment, m))
              for m in ("get_metrics", "get_metrics_summary", "get_parameters_summary", "get_others_summary",
                        "get_tags", "get_asset_list", "get_asset", "get_output", "get_system_details",
                        "get_state", "get_metadata")]
    for theirs, ours in pairs:
        expected = _positional(theirs)
        assert _positional(ours)[:len(expected)] == expected, ours.__qualname__
    assert "offline_directory" in _positional(OfflineExperiment.__init__)
    from comet_ml.exceptions import InterruptedExperiment as CometInterrupted

    from dashboard.sdk import InterruptedExperiment

    assert issubclass(InterruptedExperiment, KeyboardInterrupt) and issubclass(CometInterrupted, KeyboardInterrupt)
    assert str(InterruptedExperiment("ada")) == str(CometInterrupted("ada")).replace("Comet", "Halley")
