"""The experiment page's tab bar: which tabs exist, their labels, and the function that renders
each one (tabs are rendered on demand, so a big Output or Graphics tab costs nothing until opened)."""
from __future__ import annotations

import dash_bootstrap_components as dbc

from layouts.components import artifacts, experiment_analysis, experiment_charts, experiment_media, experiment_tables as t

TABS = (
    ("charts", "Charts", experiment_charts.charts_tab),
    ("code", "Code", t.code_tab),
    ("hyperparameters", "Hyperparameters", t.hyperparameters_tab),
    ("metrics", "Metrics", t.metrics_tab),
    ("graph", "Graph Definition", t.graph_tab),
    ("output", "Output", t.output_tab),
    ("system", "System Metrics", t.system_tab),
    ("packages", "Installed Packages", t.packages_tab),
    ("notes", "Notes", t.notes_tab),
    ("html", "HTML", t.html_tab),
    ("graphics", "Graphics", experiment_media.graphics_tab),
    ("audio", "Audio", experiment_media.audio_tab),
    ("text", "Text", t.text_tab),
    ("confusion", "Confusion Matrices", experiment_analysis.confusion_tab),
    ("histograms", "Histograms", experiment_analysis.histograms_tab),
    ("points3d", "3D Points", experiment_analysis.points_3d_tab),
    ("models", "Models", t.models_tab),
    ("artifacts", "Artifacts", artifacts.experiment_tab),
    ("assets", "Assets", t.assets_tab),
)
RENDERERS = {key: fn for key, _label, fn in TABS}


def tab_bar(present: set[str], active: str):
    tabs = [dbc.Tab(label=label, tab_id=key, id=f"experiment-tab-{key}") for key, label, _fn in TABS if key in present]
    return dbc.Tabs(tabs, id="experiment-tabs", active_tab=active if active in present else "charts",
                    className="mb-3 experiment-tabs")
