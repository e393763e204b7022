"""Dash callbacks, one module per page or component; each exposes ``register(kit)`` and
registers its callbacks through the callback kit (``callbacks.kit``)."""
from callbacks import (
    account, admin, admin_audit, invites, experiment, experiment_analysis, experiment_charts, experiment_media, project_archive, project_files,
    panels, project_header, project_manage, project_notes, project_table, project_views, query_builder, settings,
    project_export, project_live, shell,
    workspace,
    workspaces,
)
from callbacks.kit import CallbackKit

MODULES = (shell, admin, admin_audit, workspaces, settings, account, invites, project_header, workspace, project_notes,
           project_files, project_manage, project_archive, experiment, experiment_charts, experiment_media, experiment_analysis,
           project_table, query_builder, project_views, project_export, panels, project_live)


def register_callbacks(app) -> CallbackKit:
    kit = CallbackKit(app)
    for module in MODULES:
        module.register(kit)
    return kit
