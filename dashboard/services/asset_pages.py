"""Paged reads behind the Assets and Graphics tabs, for experiments with thousands of assets.

Filtering, sorting, counting and paging run in SQL, so a page costs the same with 100 or
100,000 assets. Name filters: 'exact' is the whole name (``=``), 'substring' is a
case-insensitive ``LIKE`` with the pattern escaped, 'regex' is Python's ``re`` (no SQL dialect
has a portable one) tried on the experiment's distinct names in bounded batches, the matches
going back to SQL as a list. The experiment passed in is already access-checked.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import false, func, true
from sqlmodel import Session, select

from dashboard.errors import Invalid
from dashboard.services import assets as asset_files
from dashboard.services.experiment_page import (
    FILTER_MODES, MAX_PATTERN, MediaItem, compile_name_regex, get_asset, like_pattern, metadata_of,
)
from models import Asset, Experiment

CM_EXAMPLES = "cm-example"  # the Assets tab's type filter for confusion-matrix example images
REGEX_NAMES = 50_000  # distinct names a regex is tried on
REGEX_MATCHES = 10_000  # matched names handed back to SQL
REGEX_BATCH = 2_000
REGEX_BUDGET_S = 2.0  # checked between batches: a slow pattern stops with a message
MAX_ROWS = 500  # rows one grid request may ask for
SORTABLE = {"name": Asset.file_name, "type": Asset.type, "size": Asset.size, "step": Asset.step,
            "created": Asset.created_at}


def name_conditions(session: Session, scope: list, pattern: str | None, mode: str | None) -> list:
    """SQL conditions for a name filter over the assets in ``scope`` (a list of conditions)."""
    pattern = (pattern or "").strip()
    mode = mode or "substring"
    if mode not in FILTER_MODES:
        raise Invalid("Pick a filter mode: substring, exact or regex")
    if not pattern:
        return []
    if len(pattern) > MAX_PATTERN:
        raise Invalid(f"The filter is too long (at most {MAX_PATTERN} characters)")
    if mode == "exact":
        return [Asset.file_name == pattern]
    if mode == "substring":
        return [func.lower(Asset.file_name).like(like_pattern(pattern), escape="\\")]
    rx = compile_name_regex(pattern)
    names = list(session.exec(select(Asset.file_name).where(*scope).distinct().order_by(Asset.file_name)
                              .limit(REGEX_NAMES + 1)).all())
    if len(names) > REGEX_NAMES:
        raise Invalid(f"Regex filters work on up to {REGEX_NAMES:,} different names: use a substring filter")
    matched: list[str] = []
    started = time.monotonic()
    for i in range(0, len(names), REGEX_BATCH):
        if time.monotonic() - started > REGEX_BUDGET_S:
            raise Invalid("This regular expression takes too long: simplify it")
        matched += [n for n in names[i:i + REGEX_BATCH] if rx.search(n[:1000]) is not None]
        if len(matched) > REGEX_MATCHES:
            raise Invalid(f"The regular expression matches more than {REGEX_MATCHES:,} different names: narrow it")
    return [Asset.file_name.in_(matched)] if matched else [false()]


def _step(step) -> int | None:
    if step in (None, "", "all"):
        return None
    try:
        return int(step)
    except (TypeError, ValueError):
        raise Invalid("Pick a step from the list") from None


# --- the Assets tab ------------------------------------------------------------------------

def type_counts(session: Session, exp: Experiment) -> dict[str, int]:
    """Assets per type, confusion-matrix examples counted apart (under CM_EXAMPLES)."""
    rows = session.exec(select(Asset.type, Asset.cm_example, func.count()).where(Asset.experiment_id == exp.id)
                        .group_by(Asset.type, Asset.cm_example)).all()
    out: dict[str, int] = {}
    for type_, example, n in rows:
        key = CM_EXAMPLES if example else type_
        out[key] = out.get(key, 0) + int(n)
    return out


def shown_type(asset: Asset) -> str:
    """The type the Assets tab shows: a comet_ml kind Halley keeps as "other" (a Metaflow card is
    "metaflow-card") by the name comet_ml logged it under."""
    if asset.cm_example:
        return CM_EXAMPLES
    original = metadata_of(asset).get("comet_upload_type") if asset.type == "other" else None
    return original[:64] if isinstance(original, str) and original.strip() else asset.type


def asset_scope(exp: Experiment, type_filter: str | None) -> list:
    scope = [Asset.experiment_id == exp.id]
    if type_filter == CM_EXAMPLES:
        scope.append(Asset.cm_example == true())
    elif type_filter not in (None, "", "all"):
        scope += [Asset.type == asset_files.check_type(type_filter), Asset.cm_example == false()]
    return scope


def asset_rows(session: Session, exp: Experiment, start: int, end: int, sort_model=None, *,
               search: str | None = "", mode: str | None = "substring", type_filter: str | None = None
               ) -> tuple[list[Asset], int]:
    """Rows ``start``..``end`` of the experiment's assets in the grid's sort, and how many match."""
    start = max(0, int(start or 0))
    end = min(max(start, int(end or 0)), start + MAX_ROWS)
    scope = asset_scope(exp, type_filter)
    conds = scope + name_conditions(session, scope, search, mode)
    total = session.exec(select(func.count()).select_from(Asset).where(*conds)).one()
    order = []
    for item in sort_model or []:
        column = SORTABLE.get(item.get("colId")) if isinstance(item, dict) else None
        if column is None:
            continue
        if column is Asset.step:
            order.append(column.nulls_first() if item.get("sort") != "desc" else column.desc().nulls_last())
        else:
            order.append(column.desc() if item.get("sort") == "desc" else column.asc())
    order += [Asset.file_name, Asset.step.nulls_first(), Asset.id]
    rows = session.exec(select(Asset).where(*conds).order_by(*order).offset(start).limit(end - start)).all()
    return list(rows), int(total)


# --- the Graphics tab ----------------------------------------------------------------------

@dataclass
class ImagePage:
    items: list[MediaItem]
    matching: int  # images the filters leave
    total: int  # images in the tab (examples counted only when shown)
    page: int
    pages: int
    examples: int  # confusion-matrix example images of the experiment


def image_scope(exp: Experiment, examples: bool) -> list:
    scope = [Asset.experiment_id == exp.id, Asset.type == "image"]
    if not examples:
        scope.append(Asset.cm_example == false())
    return scope


def image_steps(session: Session, exp: Experiment, examples: bool = False) -> list[int]:
    return [s for s in session.exec(select(Asset.step).where(*image_scope(exp, examples), Asset.step.is_not(None))
                                    .distinct().order_by(Asset.step)).all()]


def image_page(session: Session, exp: Experiment, *, pattern: str | None = "", mode: str | None = "substring",
               step=None, sort: str | None = "name", descending: bool = False, page: int = 0,
               page_size: int = 60, examples: bool = False) -> ImagePage:
    """One page of the experiment's images, filtered by name and step and sorted, all in SQL."""
    scope = image_scope(exp, examples)
    conds = scope + name_conditions(session, scope, pattern, mode)
    wanted = _step(step)
    if wanted is not None:
        conds.append(Asset.step == wanted)
    total = session.exec(select(func.count()).select_from(Asset).where(*scope)).one()
    matching = session.exec(select(func.count()).select_from(Asset).where(*conds)).one()
    n_examples = session.exec(select(func.count()).select_from(Asset).where(
        Asset.experiment_id == exp.id, Asset.type == "image", Asset.cm_example == true())).one()
    pages = max(1, -(-matching // page_size))
    page = min(max(0, int(page or 0)), pages - 1)
    name = func.lower(Asset.file_name)
    if sort == "step":
        keys = [Asset.step.is_(None), Asset.step, name, Asset.id]
    else:
        keys = [name, Asset.step.is_(None), Asset.step, Asset.id]
    order = [k.desc() for k in keys] if descending else keys
    rows = session.exec(select(Asset.asset_id, Asset.file_name, Asset.step, Asset.context, Asset.storage_path,
                               Asset.size).where(*conds).order_by(*order)
                        .offset(page * page_size).limit(page_size)).all()
    return ImagePage([MediaItem(*row) for row in rows], int(matching), int(total), page, pages, int(n_examples))


@dataclass
class LightboxImage:
    asset_id: str
    name: str
    step: int | None
    earlier: str | None  # the same name at the step before
    later: str | None  # ... and after
    position: int  # among the same name's images, from 1
    count: int


def lightbox_image(session: Session, exp: Experiment, asset_id: str) -> LightboxImage:
    """An image and its neighbours among the images of the same name, by step."""
    asset = get_asset(session, exp, asset_id)
    if asset.type != "image":
        raise Invalid("That asset is not an image")
    ids = list(session.exec(select(Asset.asset_id).where(
        Asset.experiment_id == exp.id, Asset.type == "image", Asset.file_name == asset.file_name)
        .order_by(Asset.step.is_(None), Asset.step, Asset.id)).all())
    i = ids.index(asset.asset_id)
    return LightboxImage(asset.asset_id, asset.file_name, asset.step, ids[i - 1] if i > 0 else None,
                         ids[i + 1] if i + 1 < len(ids) else None, i + 1, len(ids))
