"""The panel types of the project page, one registry.

Adding a panel type = one module + one registry entry:

1. a module here with its config model (a ``PanelConfigBase`` subclass whose ``type`` is a
   ``Literal``; field validators with ``mode="before"`` turn any untrusted value into a valid
   one), its ``EDITOR_FIELDS`` (the controls of its editor section) and its hooks, ending in
   ``PANEL = PanelType(...)`` (see ``base.PanelType`` for what each hook does);
2. its ``PANEL`` in ``REGISTRY`` below (``PanelConfig``, the union of the config models that
   views hold, follows from it).

The gallery, the editor (its section and what its controls read and write), panel titles, the
figure callbacks and the saved-view validation all read the registry; no code outside this
package branches on a type (the gallery's Featured panels only name the types they suggest).
"""
from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field, TypeAdapter, ValidationError

from dashboard.errors import Invalid
from dashboard.panel_types import bar, line, parcoords, scatter
from dashboard.panel_types.base import EditorField, PanelConfigBase, PanelType, is_panel_id  # noqa: F401

REGISTRY: dict[str, PanelType] = {p.type: p for p in (line.PANEL, bar.PANEL, scatter.PANEL, parcoords.PANEL)}

PanelConfig = Annotated[Union[tuple(p.config for p in REGISTRY.values())], Field(discriminator="type")]
PANEL_CONFIG = TypeAdapter(PanelConfig)
PANEL_TYPES = tuple(REGISTRY)
TYPE_ERROR = ("A panel needs a type: " + ", ".join(PANEL_TYPES[:-1]) + " or " + PANEL_TYPES[-1])


def panel_type(kind) -> PanelType:
    """The registry entry of a panel type (Invalid for anything else)."""
    if not isinstance(kind, str) or kind not in REGISTRY:
        raise Invalid(f"Unknown panel type '{kind}'")
    return REGISTRY[kind]


def parse_panel(raw) -> PanelConfigBase:
    """The config model of an untrusted panel (unknown keys dropped, bad values defaulted);
    Invalid when it has no known type."""
    if not isinstance(raw, dict) or not isinstance(raw.get("type"), str) or raw["type"] not in REGISTRY:
        raise Invalid(TYPE_ERROR)
    try:
        return PANEL_CONFIG.validate_python(raw)
    except ValidationError as exc:  # the validators default every value; kept as a safety net
        raise Invalid(TYPE_ERROR) from exc
