"""Encoders for what the SDK uploads: JSON-safe numbers, flattened parameters, Comet's histogram
(v2) and confusion-matrix (v1) JSON, PNG images and 16-bit PCM WAV audio.

numpy and PIL are imported only when the caller hands over such objects.
"""
from __future__ import annotations

import io
import math
import wave
from typing import Any, Callable, Iterable

INF = float("inf")


# --- numbers ---------------------------------------------------------------------------------

def json_number(value: Any) -> Any:
    """JSON can't carry NaN/Inf: send the strings Comet uses. numpy scalars become Python ones."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value == INF:
            return "Infinity"
        if value == -INF:
            return "-Infinity"
        return value
    item = getattr(value, "item", None)
    if item is not None and getattr(value, "ndim", 0) == 0:
        return json_number(item())
    try:
        return json_number(float(value))
    except (TypeError, ValueError):
        return str(value)


def json_value(value: Any) -> Any:
    """Any logged value (parameter, other, system info) made JSON-safe, recursively."""
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_value(v) for v in value]
    tolist = getattr(value, "tolist", None)
    if tolist is not None and getattr(value, "ndim", 0) > 0:
        return json_value(tolist())
    if isinstance(value, (str, bool, int, float)) or value is None or hasattr(value, "item"):
        return json_number(value)
    return str(value)


def flatten_parameters(params: dict, prefix: str | None = None, separator: str = "|") -> tuple[dict, bool]:
    """Nested dicts flattened with '|' like Comet's parameters ('/' for its metrics); a prefix
    joins with '_'. Returns (flat, nested?)."""
    flat: dict = {}
    nested = False

    def walk(d: dict, path: str) -> None:
        nonlocal nested
        for k, v in d.items():
            key = f"{path}{separator}{k}" if path else str(k)
            if isinstance(v, dict) and v:
                nested = True
                walk(v, key)
            else:
                flat[key] = v

    walk(params, "")
    if prefix:
        flat = {f"{prefix}_{k}": v for k, v in flat.items()}
    return flat, nested


# --- histogram (Comet data_structure.Histogram, JSON version 2) --------------------------------

def histogram_edges(start: float = 1e-12, stop: float = 1e20, step: float = 1.1, offset: float = 0) -> list[float]:
    """Bin edges: [-inf, offset - v_n, ..., offset - start, offset, offset + start, ..., offset + v_n, inf]."""
    lower, upper = [], []
    v = start
    while offset + v <= stop:
        lower.append(offset - v)
        upper.append(offset + v)
        v *= step
    return [-INF] + lower[::-1] + [offset] + upper + [INF]


def _flatten_values(values: Any) -> list[float]:
    if hasattr(values, "tolist"):
        values = values.tolist()
    if isinstance(values, (int, float)):
        return [float(values)]
    out: list[float] = []
    stack = [values]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
        else:
            out.append(float(item))
    return out


def histogram_json(values: Any, start: float = 1e-12, stop: float = 1e20, step: float = 1.1,
                   offset: float = 0) -> dict:
    """Counts values into Comet's exponential bins and returns the sparse v2 JSON.

    Same rule as Comet with numpy: a value v > offset goes to bin
    ceil(log((v - offset) / start) / log(step)) + midpoint, v < offset mirrored to
    midpoint - 1 - ceil(...), v == offset (or |v| < 1e-20 when offset is 0) to the midpoint;
    values at or beyond +-stop and NaN are not counted.
    """
    if step <= 1.0 or start <= 0 or stop <= start:
        raise ValueError("histogram needs step > 1, start > 0 and stop > start")
    n_edges = len(histogram_edges(start, stop, step, offset))
    midpoint = n_edges // 2
    log_step = math.log(step)
    counts: dict[int, int] = {}
    for v in _flatten_values(values):
        if abs(v) <= 1e-20:
            v = 0.0
        if v > offset and v < stop:
            i = math.ceil(math.log((v - offset) / start) / log_step) + midpoint
        elif v < offset and v > -stop:
            i = midpoint - 1 - math.ceil(math.log(abs(v - offset) / start) / log_step)
        elif v == offset:
            i = midpoint
        else:
            continue
        counts[i] = counts.get(i, 0) + 1
    return {"version": 2, "index_values": [[i, counts[i]] for i in sorted(counts)], "values": None,
            "offset": offset, "start": start, "stop": stop, "step": step}


# --- confusion matrix (Comet confusion_matrix.ConfusionMatrix.to_json, version 1) --------------

def _categories(ys: Iterable) -> tuple[list[int], int]:
    ys = list(ys.tolist() if hasattr(ys, "tolist") else ys)
    if ys and isinstance(ys[0], (list, tuple)):
        width = len(ys[0])
        return [max(range(len(row)), key=lambda j, r=row: r[j]) for row in ys], width
    ints = [int(y) for y in ys]
    return ints, (max(ints) + 1 if ints else 0)


def confusion_matrix_json(y_true=None, y_predicted=None, matrix=None, labels=None,
                          title="Confusion Matrix", row_label="Actual Category",
                          column_label="Predicted Category", max_examples_per_cell=25,
                          max_categories=25, selected=None,
                          index_to_example: Callable[[int], Any] | None = None) -> dict:
    """Comet's JSON. ``index_to_example(i)`` returns an int, a str, or a dict with "sample" and
    "assetId" for cell examples (the first ``max_examples_per_cell`` indices of each cell)."""
    cells: dict[tuple[int, int], int] = {}
    examples: dict[tuple[int, int], list[int]] = {}
    if matrix is not None:
        rows = matrix.tolist() if hasattr(matrix, "tolist") else [list(r) for r in matrix]
        dimension = len(rows)
        for x, row in enumerate(rows):
            for y, count in enumerate(row):
                if count:
                    cells[(x, y)] = int(count)
    else:
        if y_true is None or y_predicted is None:
            raise ValueError("log_confusion_matrix needs y_true and y_predicted, or matrix")
        xs, dx = _categories(y_true)
        ys, dy = _categories(y_predicted)
        if len(xs) != len(ys):
            raise ValueError(f"y_true has {len(xs)} items but y_predicted has {len(ys)}")
        dimension = max(dx, dy)
        for i, (x, y) in enumerate(zip(xs, ys)):
            cells[(x, y)] = cells.get((x, y), 0) + 1
            examples.setdefault((x, y), []).append(i)
    if labels is not None:
        labels = [str(label) for label in labels]
        dimension = max(dimension, len(labels))
    if selected is None and dimension > max_categories:
        correct = sorted(range(dimension), key=lambda i: cells.get((i, i), 0))
        selected = correct[:max_categories]
    order = list(selected) if selected is not None else list(range(dimension))
    if labels is None:
        out_labels = [str(i) for i in order]
    else:
        out_labels = [labels[i] if i < len(labels) else str(i) for i in order]

    sample_matrix = None
    kind = None
    if index_to_example is not None and examples:
        chosen = set(order)
        sample_matrix = [[None for _ in order] for _ in order]
        pos = {c: k for k, c in enumerate(order)}
        for (x, y), idx in sorted(examples.items()):
            if x not in chosen or y not in chosen:
                continue
            refs = []
            for i in idx[:max_examples_per_cell]:
                ref, kind = _example_ref(index_to_example(i), i)
                if ref is not None:
                    refs.append(ref)
            if refs:
                sample_matrix[pos[x]][pos[y]] = refs
    return {"version": 1, "title": title, "labels": out_labels,
            "matrix": [[cells.get((r, c), 0) for c in order] for r in order],
            "rowLabel": row_label, "columnLabel": column_label,
            "maxSamplesPerCell": max_examples_per_cell,
            "sampleMatrix": sample_matrix, "type": kind if sample_matrix is not None else None}


def _example_ref(example: Any, index: int) -> tuple[Any, str | None]:
    if example is None:
        return None, None
    if isinstance(example, bool) or not isinstance(example, (int, str, dict)):
        example = str(example)
    if isinstance(example, int):
        return example, "integer"
    if isinstance(example, str):
        return {"index": index, "sample": example, "assetId": None}, (
            "link" if example.startswith("http") else "string")
    ref = {"index": index, **example}
    ref.setdefault("assetId", None)
    return ref, ref.pop("type", "image")


# --- figures ---------------------------------------------------------------------------------

FIGURE_FORMATS = ("svg", "png")


def figure_bytes(figure: Any = None, fmt: str = "svg") -> bytes:
    """A matplotlib figure (or axes, or pyplot itself; None: pyplot's current figure) or a Plotly
    figure, saved as SVG (the default, as comet_ml logs figures) or PNG. Plotly needs kaleido."""
    if fmt not in FIGURE_FORMATS:
        raise ValueError(f"figure format must be one of {FIGURE_FORMATS}")
    if figure is not None and hasattr(figure, "to_image") and hasattr(figure, "to_plotly_json"):
        return figure.to_image(format=fmt)
    if figure is None or getattr(figure, "__name__", "") == "matplotlib.pyplot":
        import matplotlib.pyplot as plt

        figure = plt.gcf()
    if not hasattr(figure, "savefig") and hasattr(figure, "get_figure"):  # axes (seaborn)
        figure = figure.get_figure()
    if not hasattr(figure, "savefig"):
        raise ValueError(f"log_figure takes a matplotlib or Plotly figure, not {type(figure).__name__}")
    out = io.BytesIO()
    figure.savefig(out, format=fmt)
    return out.getvalue()


# --- images ----------------------------------------------------------------------------------

def image_bytes(image: Any, scale: float = 1.0, shape: tuple | None = None, minmax: tuple | None = None,
                channels: str = "last") -> tuple[bytes, str]:
    """Returns (bytes, extension) for a path, a file-like, a PIL image or a numpy array.

    Files are sent as they are; PIL images and arrays become PNG, resized by ``scale`` or to
    ``shape`` (width, height) like Comet. ``minmax`` and ``channels`` ("last" or "first")
    describe arrays.
    """
    if not isinstance(image, (str, bytes)) and hasattr(image, "read"):
        data = image.read()
        data = data.encode() if isinstance(data, str) else data
        return data, _sniff(data)
    if isinstance(image, (str, bytes)) or hasattr(image, "__fspath__"):
        with open(image, "rb") as fh:
            data = fh.read()
        return data, _sniff(data)
    if hasattr(image, "save") and hasattr(image, "mode"):
        pil = image
    elif hasattr(image, "shape") and hasattr(image, "dtype"):
        pil = array_to_image(image, minmax, channels)
    else:
        raise TypeError(f"can't log an image of type {type(image).__name__}")
    if shape is not None:
        pil = pil.resize((int(shape[0]), int(shape[1])))
    elif scale != 1.0:
        pil = pil.resize((max(1, round(pil.width * scale)), max(1, round(pil.height * scale))))
    buf = io.BytesIO()
    pil.save(buf, format="PNG")
    return buf.getvalue(), "png"


def _sniff(data: bytes) -> str:
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return "png"
    if data[:3] == b"\xff\xd8\xff":
        return "jpg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return "png"


def array_to_image(array: Any, minmax: tuple | None = None, channels: str = "last"):
    """HxW (grey) or HxWxC (C = 1, 3, 4; CxHxW with channels="first") array to a PIL image.
    uint8 is kept; other types are scaled from ``minmax``, else from [0, 1] when the data fits
    in it, else from the data's own min and max."""
    import numpy as np
    from PIL import Image

    a = np.asarray(array)
    if channels == "first" and a.ndim == 3:
        a = np.moveaxis(a, 0, -1)
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[:, :, 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)):
        raise ValueError(f"image array must be HxW or HxWxC with C in 1, 3, 4; got shape {a.shape}")
    if a.dtype != np.uint8 or minmax is not None:
        a = a.astype(np.float64)
        if minmax is not None:
            lo, hi = float(minmax[0]), float(minmax[1])
        else:
            lo, hi = float(np.nanmin(a)), float(np.nanmax(a))
            if lo >= 0 and hi <= 1:
                lo, hi = 0.0, 1.0
        a = (a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)
        a = np.nan_to_num(a).clip(0, 255).round().astype(np.uint8)
    return Image.fromarray(a)


def array_to_png(array: Any) -> bytes:
    buf = io.BytesIO()
    array_to_image(array).save(buf, format="PNG")
    return buf.getvalue()


# --- audio -----------------------------------------------------------------------------------

def wav_bytes(samples: Any, sample_rate: int) -> bytes:
    """numpy array (n,) or (n, channels) to WAV PCM16. Floats are taken as [-1, 1] unless
    their peak is larger, then normalised by the peak; integer arrays are scaled to 16 bits."""
    import numpy as np

    a = np.asarray(samples)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ValueError(f"audio array must be (samples,) or (samples, channels); got {a.shape}")
    if np.issubdtype(a.dtype, np.floating):
        peak = float(np.nanmax(np.abs(a))) if a.size else 0.0
        scaled = a / peak if peak > 1.0 else a
        pcm = np.nan_to_num(scaled * 32767.0).clip(-32768, 32767).astype("<i2")
    elif a.dtype == np.int16:
        pcm = a.astype("<i2")
    else:
        info = np.iinfo(a.dtype)
        if info.min == 0:  # unsigned: centre first
            a = a.astype(np.int64) - (info.max + 1) // 2
            bits = info.bits
        else:
            bits = info.bits
        pcm = (a.astype(np.int64) >> max(bits - 16, 0) if bits > 16 else a.astype(np.int64) << (16 - bits))
        pcm = pcm.clip(-32768, 32767).astype("<i2")
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(pcm.shape[1])
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        w.writeframes(pcm.tobytes())
    return buf.getvalue()
