"""JSON from outside (request bodies, uploaded files, browser state), parsed within bounds.

``loads`` refuses, with a ``ValueError`` that says why, what would otherwise crash or poison
later code: nesting deeper than ``MAX_DEPTH`` (Python's parser and encoder recurse: deep input
ends in a RecursionError), strings with lone surrogates (they can't be encoded to UTF-8, so
the database, the JSON encoder and the browser all fail on them later) and invalid UTF-8.

The literals ``NaN``, ``Infinity`` and ``-Infinity`` are accepted (comet_ml sends them for
non-finite metric values, which are stored and flagged) and so are numbers too large for a
double (read as infinite): which fields may hold them is for each field's validation to say.
Integers beyond 64 bits are read as floats, as orjson reads them.
"""
from __future__ import annotations

import json
import re
from typing import Any

import orjson

MAX_DEPTH = 64
_NON_FINITE = re.compile(rb"NaN|Infinity")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_CONTAINERS = (dict, list)
_HAS_CONTAINER = frozenset(_CONTAINERS)
_INT64 = 2**63


class JSONRefused(ValueError):
    """Input that is not JSON, or JSON outside the bounds above; the message says which."""


def loads(data: bytes | bytearray | memoryview | str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``data`` (UTF-8 bytes or text) or raise ``JSONRefused``."""
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        # orjson is strict: fall back to the standard parser only for what it refuses and
        # JSON allows (non-finite literals, numbers beyond a double), then check its result.
        raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
        if "depth limit" in str(exc) or "surrogate" in str(exc) or not (
                _NON_FINITE.search(raw) or "infinity" in str(exc)):
            raise JSONRefused(_reason(exc)) from None
        value = _lenient_loads(raw)
        _check(value, max_depth, strings=True)
        return value
    if _may_be_deep(data, max_depth):
        _check(value, max_depth, strings=False)
    return value


def _reason(exc: Exception) -> str:
    text = str(exc)
    if "depth limit" in text:
        return f"JSON is nested too deeply (limit {MAX_DEPTH} levels)"
    if "surrogate" in text or "UTF-8" in text:
        return "JSON text is not valid UTF-8 (or has a lone surrogate)"
    return f"Body is not valid JSON: {text}"


def _lenient_loads(raw: bytes) -> Any:
    try:
        return json.loads(raw, parse_int=_int_or_float)
    except RecursionError:
        raise JSONRefused(f"JSON is nested too deeply (limit {MAX_DEPTH} levels)") from None
    except UnicodeDecodeError:
        raise JSONRefused("JSON text is not valid UTF-8") from None
    except ValueError as exc:
        raise JSONRefused(f"Body is not valid JSON: {exc}") from None


def _int_or_float(text: str) -> int | float:
    if len(text) <= 18:
        return int(text)
    number = float(text)
    if abs(number) < _INT64:
        return int(text)
    return number


def _may_be_deep(data, max_depth: int) -> bool:
    """Cheap pre-check: a text with at most ``max_depth`` brackets can't nest deeper."""
    if isinstance(data, str):
        return data.count("[") + data.count("{") > max_depth
    if not isinstance(data, bytes):
        data = bytes(data)
    return data.count(b"[") + data.count(b"{") > max_depth


def _check(value: Any, max_depth: int, strings: bool) -> None:
    """Walk ``value`` without recursion: depth, and (for the lenient parser's output) strings."""
    if not isinstance(value, _CONTAINERS):
        if strings and isinstance(value, str) and _LONE_SURROGATE.search(value):
            raise JSONRefused("JSON text has a lone surrogate (not valid Unicode)")
        return
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise JSONRefused(f"JSON is nested too deeply (limit {max_depth} levels)")
        children = list(item.values()) if isinstance(item, dict) else item
        if strings:
            texts = [*item, *children] if isinstance(item, dict) else children
            if any(isinstance(t, str) and _LONE_SURROGATE.search(t) for t in texts):
                raise JSONRefused("JSON text has a lone surrogate (not valid Unicode)")
        if _HAS_CONTAINER.intersection(map(type, children)):  # else scalars only, found at C speed
            stack.extend((child, depth + 1) for child in children if isinstance(child, _CONTAINERS))


def loads_object(data, what: str = "JSON") -> dict:
    """A JSON object, or ``JSONRefused`` naming ``what`` when it is anything else."""
    value = loads(data)
    if not isinstance(value, dict):
        raise JSONRefused(f"{what} must be a JSON object")
    return value
