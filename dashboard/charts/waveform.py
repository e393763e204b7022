"""A small waveform picture of a WAV file: min/max envelope per bucket, x in seconds."""
from __future__ import annotations

import io
import wave

import numpy as np
import plotly.graph_objects as go

BUCKETS = 300
DTYPES = {1: np.uint8, 2: np.int16, 4: np.int32}


def envelope(data: bytes, buckets: int = BUCKETS) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """(t, low, high, duration_s) of a PCM WAV file; raises ValueError for anything else."""
    try:
        with wave.open(io.BytesIO(data)) as w:
            channels, width, rate, frames = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            raw = w.readframes(frames)
    except (wave.Error, EOFError) as exc:
        raise ValueError(f"not a PCM WAV file: {exc}") from exc
    if width not in DTYPES or rate <= 0:
        raise ValueError("unsupported sample width")
    samples = np.frombuffer(raw[: len(raw) - len(raw) % (width * channels)], dtype=DTYPES[width]).astype(float)
    if width == 1:
        samples -= 128.0
    samples /= float(2 ** (8 * width - 1))
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1)
    duration = samples.size / rate
    if samples.size == 0:
        return np.zeros(1), np.zeros(1), np.zeros(1), 0.0
    n = min(buckets, samples.size)
    edges = np.linspace(0, samples.size, n + 1).astype(int)
    low = np.minimum.reduceat(samples, edges[:-1])
    high = np.maximum.reduceat(samples, edges[:-1])
    t = edges[:-1] / rate
    return t, low, high, duration


def figure(t: np.ndarray, low: np.ndarray, high: np.ndarray, duration: float, height: int = 90) -> go.Figure:
    fig = go.Figure([
        go.Scatter(x=t, y=high, mode="lines", line={"width": 0.5, "color": "#3b6fb6"}, hoverinfo="skip"),
        go.Scatter(x=t, y=low, mode="lines", line={"width": 0.5, "color": "#3b6fb6"}, fill="tonexty",
                   fillcolor="rgba(59,111,182,0.55)", hovertemplate="%{x:.2f} s<extra></extra>"),
    ])
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0}, showlegend=False,
                      xaxis={"visible": False, "range": [0, max(duration, 1e-3)], "fixedrange": True},
                      yaxis={"visible": False, "range": [-1, 1], "fixedrange": True},
                      plot_bgcolor="rgba(0,0,0,0)", paper_bgcolor="rgba(0,0,0,0)", hovermode="x")
    return fig
