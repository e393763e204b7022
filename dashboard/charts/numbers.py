"""How numbers read in panels: four significant digits, the one formatter everything uses.

``fmt`` (server side: tick labels we compute, brush and query labels) and ``D3`` (the Plotly
format of hover templates and axis ticks) write the same text: 0.000123456789 -> 0.0001235,
123456.789 -> 1.235e+5, 0.5 -> 0.5. Exponents are used below 1e-6 and from 1e4 on, as
JavaScript's ``toPrecision`` (and so Plotly's ``~g``) does.
"""
from __future__ import annotations

import math

DIGITS = 4
D3 = f".{DIGITS}~g"  # Plotly/d3: DIGITS significant digits, trailing zeros trimmed


def fmt(value, digits: int = DIGITS) -> str:
    """``value`` with ``digits`` significant digits; integers (not floats) and text are kept as they are."""
    if isinstance(value, bool) or isinstance(value, int) or not isinstance(value, float):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    mantissa, _, exp_text = f"{value:.{digits - 1}e}".partition("e")
    exp = int(exp_text)
    if exp < -6 or exp >= digits:
        mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
        return f"{mantissa}e{'+' if exp >= 0 else '-'}{abs(exp)}"
    text = f"{value:.{max(digits - 1 - exp, 0)}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def tidy(value: float, digits: int = 12) -> float:
    """``value`` rounded to ``digits`` significant digits: what a log round trip (10 ** log10(x))
    should give back, so a brushed 0.005 stays 0.005."""
    if not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{digits}g}")
