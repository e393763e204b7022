"""SQLModel tables: the data, no behaviour beyond tiny helpers."""
from .artifacts import Artifact, ArtifactFile, ArtifactUse, ArtifactVersion
from .accounts import ApiKey, AuditEvent, Invite, LoginThrottle, Membership, PasswordReset, User, UserIdentity, Workspace, utcnow
from .enums import AssetType, ExperimentStatus, Role
from .experiments import (
    Asset,
    Experiment,
    ExperimentTag,
    MetricPoint,
    MetricRollup,
    MetricSeries,
    Other,
    OutputLine,
    Parameter,
    ParameterValue,
    ReceivedBatch,
)
from .optimizer import OptimizerSweep, OptimizerTrial
from .projects import PanelTemplate, Project, SavedQuery, SavedView

__all__ = [
    "ApiKey", "Artifact", "ArtifactFile", "ArtifactUse", "ArtifactVersion", "Asset", "AuditEvent", "AssetType", "Experiment", "ExperimentStatus", "ExperimentTag",
    "Invite", "LoginThrottle", "Membership", "OptimizerSweep", "OptimizerTrial", "PasswordReset", "PanelTemplate", "ReceivedBatch",
    "MetricPoint", "MetricRollup", "MetricSeries", "Other", "OutputLine",
    "Parameter", "ParameterValue", "Project", "Role", "SavedQuery", "SavedView", "User", "UserIdentity",
    "Workspace", "utcnow",
]
