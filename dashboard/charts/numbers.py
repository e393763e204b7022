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


BINARY_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def binary_unit(largest: float) -> tuple[float, str]:
    """(divisor, unit) that shows byte counts up to ``largest`` as 0 to 1023.x of that unit."""
    size = abs(largest) if isinstance(largest, (int, float)) and math.isfinite(largest) else 0
    power = 0
    while size >= 1024 and power < len(BINARY_UNITS) - 1:
        size /= 1024
        power += 1
    return 1024.0 ** power, BINARY_UNITS[power]


def fmt_bytes(value) -> str:
    """A byte count in binary units: 512 -> "512 B", 1536 -> "1.5 KiB", 3 * 2**30 -> "3 GiB"."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return str(value)
    divisor, unit = binary_unit(value)
    if unit == "B":
        return f"{int(round(value))} B"
    return f"{fmt(value / divisor)} {unit}"


def tidy(value: float, digits: int = 12) -> float:
    """``value`` rounded to ``digits`` significant digits: what a log round trip (10 ** log10(x))
    should give back, so a brushed 0.005 stays 0.005."""
    if not math.isfinite(value) or value == 0:
        return value
    return float(f"{value:.{digits}g}")
