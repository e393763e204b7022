"""Models logged with an experiment (log_model): the "model-element" assets grouped by the model
name they were logged under (their ``groupingName``), each file keeping its path in the model."""
from __future__ import annotations

import shutil
import tempfile
import zipfile
from dataclasses import dataclass

from sqlmodel import Session, select

from dashboard.config import Settings
from dashboard.errors import NotFound
from dashboard.services import assets as asset_files
from dashboard.services import experiment_page
from models import Asset, AssetType, Experiment

MODEL_TYPE = AssetType.model.value
# Zips are built on disk past this size, not in memory.
ZIP_IN_MEMORY_BYTES = 16 * 1024 * 1024


@dataclass
class LoggedModel:
    name: str
    files: list[Asset]

    @property
    def size(self) -> int:
        return sum(f.size or 0 for f in self.files)

    @property
    def id(self) -> str:
        """A stable id for the model (comet_ml's experimentModelId): its first file's id."""
        return self.files[0].asset_id


def model_name(asset: Asset) -> str:
    name = experiment_page.metadata_of(asset).get("groupingName")
    return name if isinstance(name, str) and name else "model"


def models(session: Session, exp: Experiment) -> list[LoggedModel]:
    found: dict[str, LoggedModel] = {}
    rows = session.exec(select(Asset).where(Asset.experiment_id == exp.id, Asset.type == MODEL_TYPE)
                        .order_by(Asset.file_name, Asset.id)).all()
    for asset in rows:
        name = model_name(asset)
        found.setdefault(name, LoggedModel(name, [])).files.append(asset)
    return sorted(found.values(), key=lambda m: m.name.lower())


def find(session: Session, exp: Experiment, name: str) -> LoggedModel:
    for model in models(session, exp):
        if model.name == name:
            return model
    raise NotFound(f"No model named '{name}' in this experiment")


def zip_file(settings: Settings, model: LoggedModel):
    """The model's files in one zip, each at its path in the model, as a file object at its start
    (in memory for small models, on disk for large ones). Remote files are listed in a note."""
    out = tempfile.SpooledTemporaryFile(max_size=ZIP_IN_MEMORY_BYTES)
    remote = []
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for asset in model.files:
            member = _member_name(asset.file_name)
            if asset.remote_url:
                remote.append(f"{member}\t{asset.remote_url}")
                continue
            with asset_files.open_asset(settings, asset) as src, archive.open(member, "w", force_zip64=True) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        if remote:
            archive.writestr("REMOTE_FILES.txt", "\n".join(remote) + "\n")
    out.seek(0)
    return out


def _member_name(name: str) -> str:
    """A file's path inside the zip: relative, no parent steps (an extractor must stay in its folder)."""
    parts = [p for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    return "/".join(parts) or "model"
