"""3D scenes (comet_ml's log_points_3d): a scene is a name and a step with up to three parts,
each an asset of type "3d-points": the points (JSON lines ``[x, y, z]`` or ``[x, y, z, r, g, b]``,
shuffled by comet_ml so any prefix is a fair sample), the boxes (JSON lines with ``segments``,
``color``, ``name``) and a thumbnail. Live, comet_ml first creates the scene (answered with its
id, kept as a small scene record) and then uploads its parts naming that id; an imported archive
has the parts only, grouped by scene name and step."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import BinaryIO

from sqlmodel import Session, select

from dashboard.asset_store import AssetStore
from dashboard.auth import Actor
from dashboard.config import Settings
from dashboard.errors import Invalid, NotFound
from dashboard.services import experiment_page, ingest
from models import Asset, AssetType, Experiment

ITEM_TYPES = ("points", "boxes")
SCENE = "scene"
POINTS_READ_MAX_BYTES = 64 * 1024 * 1024
MAX_DRAWN_POINTS = 50_000
MAX_DRAWN_BOXES = 2_000
TYPE = AssetType.points_3d.value


def create_scene(session: Session, actor: Actor, key: str, name: str, step: int | None, metadata: dict,
                 settings: Settings) -> Asset:
    """The scene record comet_ml's parts will name (its metadata holds the points' ranges)."""
    if len(name) > 500:
        raise Invalid("A scene's name must be at most 500 characters")
    record = {"comet_upload_type": TYPE, "scene": name, "item_type": SCENE, **metadata}
    return ingest.store_asset(session, actor, key, data=json.dumps(record).encode(), type=TYPE,
                              name=f"{name}/scene.json", step=step, metadata=record, settings=settings)


def store_part(session: Session, actor: Actor, key: str, scene_id: str, item_type: str, file_name: str,
               data: BinaryIO, settings: Settings) -> Asset:
    """One part of a scene created before (``scene_id``), in the same experiment."""
    scene = session.exec(select(Asset).where(Asset.asset_id == scene_id, Asset.type == TYPE)).first()
    exp = ingest.writable(session, actor, key).experiment
    if scene is None or scene.experiment_id != exp.id:
        raise NotFound("No such 3D scene in this experiment")
    record = experiment_page.metadata_of(scene)
    name = record.get("scene") or scene.file_name.rsplit("/", 1)[0]
    file_name = file_name.rsplit("/", 1)[-1][:200] or f"{item_type}.jsonl"
    # The scene's metadata (the user's and the ranges) on each part, as an imported archive has it.
    metadata = {**record, "scene": name, "item_type": item_type, "scene_id": scene_id}
    return ingest.store_asset(session, actor, key, data=data, type=TYPE, name=f"{name}/{file_name}", step=scene.step,
                              metadata=metadata, settings=settings)


@dataclass
class Scene:
    id: str  # the scene record's asset id live; name and step for an imported scene
    name: str
    step: int | None
    parts: dict[str, Asset] = field(default_factory=dict)  # "points" / "boxes" / "thumbnail"

    @property
    def label(self) -> str:
        return self.name + ("" if self.step is None else f" (step {self.step})")


def scenes(session: Session, exp: Experiment) -> list[Scene]:
    """The experiment's scenes with at least one part to draw, by name then step."""
    found: dict[str, Scene] = {}
    for asset in experiment_page.assets(session, exp, (TYPE,)):
        meta = experiment_page.metadata_of(asset)
        name = str(meta.get("scene") or asset.file_name.rsplit("/", 1)[0])
        scene_id = meta.get("scene_id") or (asset.asset_id if meta.get("item_type") == SCENE else None) \
            or f"{name}@{asset.step}"
        scene = found.setdefault(scene_id, Scene(scene_id, name, asset.step))
        item_type = meta.get("item_type")
        if item_type in (*ITEM_TYPES, "thumbnail"):
            scene.parts[item_type] = asset
    drawable = [s for s in found.values() if any(t in s.parts for t in ITEM_TYPES)]
    return sorted(drawable, key=lambda s: (s.name, s.step is None, s.step or 0))


def find_scene(session: Session, exp: Experiment, scene_id: str) -> Scene:
    for scene in scenes(session, exp):
        if scene.id == scene_id:
            return scene
    raise NotFound("No such 3D scene in this experiment")


def _json_lines(store: AssetStore, asset: Asset, limit: int) -> tuple[list, bool]:
    """Up to ``limit`` parsed lines (bad ones skipped) and whether there were more."""
    text = experiment_page.read_bytes(store, asset, POINTS_READ_MAX_BYTES).decode("utf-8", "replace")
    out, more = [], False
    for line in text.splitlines():
        if not line.strip():
            continue
        if len(out) >= limit:
            more = True
            break
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out, more


@dataclass
class SceneData:
    points: list  # [x, y, z] or [x, y, z, r, g, b]
    boxes: list  # {"segments": [[[x, y, z], [x, y, z]], ...], "color": [r, g, b], "name": ...}
    points_cut: bool  # more points were logged than are drawn


def scene_data(store: AssetStore, scene: Scene) -> SceneData:
    points, cut = ([], False)
    if "points" in scene.parts:
        points, cut = _json_lines(store, scene.parts["points"], MAX_DRAWN_POINTS)
        points = [p for p in points if isinstance(p, list) and len(p) >= 3
                  and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in p[:6])]
    boxes = []
    if "boxes" in scene.parts:
        boxes, _ = _json_lines(store, scene.parts["boxes"], MAX_DRAWN_BOXES)
        boxes = [b for b in boxes if isinstance(b, dict) and isinstance(b.get("segments"), list)]
    return SceneData(points, boxes, cut)
