"""The "are you sure?" dialog before something is removed for good: a title, a body the
callback fills with what will go, Cancel and a red confirm button."""
from __future__ import annotations

import dash_bootstrap_components as dbc


def confirm_dialog(prefix: str, title: str, confirm_label: str, *, body_id: str | None = None,
                   cancel_id: str | None = None, confirm_id: str | None = None) -> dbc.Modal:
    """Ids ``<prefix>-modal``, ``-body``, ``-cancel`` and ``-confirm`` unless given."""
    return dbc.Modal([
        dbc.ModalHeader(dbc.ModalTitle(title)),
        dbc.ModalBody(id=body_id or f"{prefix}-body"),
        dbc.ModalFooter([
            dbc.Button("Cancel", id=cancel_id or f"{prefix}-cancel", color="secondary", outline=True),
            dbc.Button(confirm_label, id=confirm_id or f"{prefix}-confirm", color="danger"),
        ]),
    ], id=f"{prefix}-modal", is_open=False)
