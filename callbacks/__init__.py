"""Dash callbacks, one module per page or component; each exposes ``register(app)``."""
from callbacks import settings, shell, workspaces

MODULES = (shell, workspaces, settings)


def register_callbacks(app) -> None:
    for module in MODULES:
        module.register(app)
