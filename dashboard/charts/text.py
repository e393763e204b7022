"""User strings placed in Plotly figures.

Plotly renders a subset of HTML (<a href>, <span style>, <br>, ...) in titles, trace names,
tick labels, hover text and annotations, and substitutes ``%{...}`` in hovertemplates. A
logged name or label must show as the characters it is, so it goes through ``plotly_text``
first: Plotly decodes the entities back for display, and nothing in it is markup.
"""
from __future__ import annotations

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "%": "&#37;"}


def plotly_text(value) -> str:
    """``value`` as literal Plotly text (safe in titles, names, ticks and hovertemplates)."""
    return "".join(_ENTITIES.get(ch, ch) for ch in str(value))
