"""Enumerations shared by the tables. Stored as plain strings for portability."""
from enum import Enum


class Role(str, Enum):
    owner = "owner"
    admin = "admin"
    member = "member"
    viewer = "viewer"

    @property
    def can_write(self) -> bool:
        return self in (Role.owner, Role.admin, Role.member)

    @property
    def can_manage(self) -> bool:
        return self in (Role.owner, Role.admin)


class ExperimentStatus(str, Enum):
    running = "running"
    finished = "finished"
    stopped = "stopped"
    crashed = "crashed"


class AssetType(str, Enum):
    image = "image"
    audio = "audio"
    video = "video"
    text = "text"
    html = "html"
    file = "file"
    confusion_matrix = "confusion-matrix"
    histogram = "histogram3d"
    curve = "curve"
    model_graph = "model-graph"
    code = "code"
    notebook = "notebook"
    git_patch = "git-patch"
    model = "model-element"
    points_3d = "3d-points"  # a 3D scene's parts: points, boxes, thumbnail (log_points_3d)
    other = "other"
