"""Dash callbacks, one module per page or component; each exposes ``register(app)``."""
from callbacks import (
    experiment, experiment_analysis, experiment_charts, experiment_media, project_archive, project_files,
    panels, project_header, project_manage, project_notes, project_table, project_views, query_builder, settings,
    shell,
    workspace,
    workspaces,
)

MODULES = (shell, workspaces, settings, project_header, workspace, project_notes, project_files, project_manage,
           project_archive, experiment, experiment_charts, experiment_media, experiment_analysis,
           project_table, query_builder, project_views, panels)


def register_callbacks(app) -> None:
    for module in MODULES:
        module.register(app)
