"""Shapes of the values a Dash callback request carries.

Everything in a callback request comes from the browser and is untrusted: component values,
the contents of stores and the ids of pattern-matching components. The callback kit
(``callbacks.kit``) checks each of them against a shape before the callback runs and refuses
a value of another shape with ``Invalid``, so a callback body never meets a dict where it reads
a project id. Shapes say what a value looks like; whether the visitor may use it is still the
services' decision.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable

from dashboard.db import is_id
from dashboard.services.assets import ASSET_ID_RE
from dashboard.services.ingest import KEY_RE
from dashboard.services.panel_configs import is_panel_id

MAX_SAFE_INT = 2**53 - 1  # the largest whole number a browser sends exactly


@dataclass(frozen=True)
class Shape:
    """What a value must look like: ``test`` says whether it does, ``description`` says it in
    words for the message a visitor sees when it doesn't."""

    description: str
    test: Callable[[Any], bool]

    def __or__(self, other: "Shape") -> "Shape":
        return Shape(f"{self.description} or {other.description}", lambda v: self.test(v) or other.test(v))

    def accepts(self, value) -> bool:
        return bool(self.test(value))


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def matching(pattern: str, description: str) -> Shape:
    rx = re.compile(pattern)
    return Shape(description, lambda v: isinstance(v, str) and rx.fullmatch(v) is not None)


def one_of(*choices) -> Shape:
    return Shape("one of " + ", ".join(map(repr, choices)), lambda v: any(v == c and type(v) is type(c)
                                                                       for c in choices))


def list_of(item: Shape, most: int = 10_000) -> Shape:
    return Shape(f"a list of {item.description}",
                 lambda v: isinstance(v, list) and len(v) <= most and all(item.test(x) for x in v))


def record(**fields: Shape) -> Shape:
    """A dict whose named keys have these shapes (a missing key counts as None; other keys
    are not read by the callbacks and may hold anything)."""
    names = ", ".join(fields)
    return Shape(f"an object with {names}",
                 lambda v: isinstance(v, dict) and all(shape.test(v.get(k)) for k, shape in fields.items()))


def optional(shape: Shape) -> Shape:
    return shape | NONE


ANY = Shape("any value", lambda v: True)
NONE = Shape("nothing", lambda v: v is None)
FLAG = Shape("true or false", lambda v: isinstance(v, bool))
TEXT = Shape("text", lambda v: isinstance(v, str))
COUNT = Shape("a count", lambda v: _whole(v) and 0 <= v <= MAX_SAFE_INT)
INDEX = COUNT
NUMBER = Shape("a number", lambda v: _number(v) and abs(v) <= MAX_SAFE_INT)
SCALAR = TEXT | NUMBER | FLAG
OBJECT = Shape("an object", lambda v: isinstance(v, dict))
LIST = Shape("a list", lambda v: isinstance(v, list))
ID = Shape("an id", is_id)
KEY = Shape("an experiment key", lambda v: isinstance(v, str) and KEY_RE.fullmatch(v) is not None)
PANEL_ID = Shape("a panel id", is_panel_id)
ASSET_ID = Shape("an asset id", lambda v: isinstance(v, str) and ASSET_ID_RE.fullmatch(v) is not None)
PATH = Shape("a path", lambda v: isinstance(v, str) and v.startswith("/"))
TAG = Shape("a tag", lambda v: isinstance(v, str) and 0 < len(v) <= 200)

# What Dash components put in these properties, for every component that has them.
PROPERTY_SHAPES: dict[str, Shape] = {
    **dict.fromkeys(("n_clicks", "n_submit", "n_intervals", "active_page"), optional(COUNT)),
    **dict.fromkeys(("is_open", "disabled"), optional(FLAG)),
    **dict.fromkeys(("active_tab", "pathname", "search", "hash", "href", "contents"), optional(TEXT)),
    "value": optional(SCALAR | list_of(SCALAR)),
}
