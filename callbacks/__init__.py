"""Dash callbacks, one module per page or component; each exposes ``register(app)``."""
from callbacks import project_header, settings, shell, workspaces

MODULES = (shell, workspaces, settings, project_header)


def register_callbacks(app) -> None:
    for module in MODULES:
        module.register(app)
