"""Halley's Python SDK, a drop-in for comet_ml's logging API.

    from dashboard.sdk import Experiment      # instead of: from comet_ml import Experiment

Needs only ``requests`` (and ``psutil`` for system metrics); nothing else of Halley is imported.
"""
from dashboard.sdk.api import API, APIExperiment
from dashboard.sdk.artifacts import Artifact, LoggedArtifact
from dashboard.sdk.experiment import Experiment, ExistingExperiment, InterruptedExperiment
from dashboard.sdk.offline import OfflineExperiment
from dashboard.sdk.optimizer import Optimizer, OptimizerException
from dashboard.sdk.upload import upload

__all__ = ["API", "APIExperiment", "Artifact", "LoggedArtifact", "Experiment", "ExistingExperiment", "InterruptedExperiment",
           "OfflineExperiment", "Optimizer", "OptimizerException", "upload"]
