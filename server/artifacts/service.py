"""Checkpoint and export records: upload (with retention), listing, and file lookup."""

import json
import math
from pathlib import Path
from typing import Any, BinaryIO
from uuid import uuid4

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from runyard.schemas.spec import CheckpointPolicy
from server.artifacts import retention, storage
from server.artifacts.models import Checkpoint, ExportedModel
from server.artifacts.schemas import CheckpointPublic, ExportPublic
from server.errors import InvalidInput, NotFound
from server.runs.models import Run

EXPORT_SUFFIX = {"torchscript": ".pt", "onnx": ".onnx"}


def _policy(run: Run) -> CheckpointPolicy:
    try:
        return CheckpointPolicy.model_validate((run.spec or {}).get("checkpoint") or {})
    except ValidationError:
        return CheckpointPolicy()


def parse_json_field(raw: str | None, name: str) -> Any:
    if raw is None or raw == "":
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"form field {name!r} must be JSON: {exc}", loc=["body", name]) from exc


def parse_metrics(raw: str | None) -> dict[str, float]:
    value = parse_json_field(raw, "metrics")
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, int | float) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        raise InvalidInput(
            "form field 'metrics' must be a JSON object of names to numbers",
            loc=["body", "metrics"],
        )
    # JSON has no NaN; keep only finite numbers so the stored record stays valid JSON.
    return {k: float(v) for k, v in value.items() if math.isfinite(float(v))}


def store_checkpoint(
    session: Session,
    root: Path,
    run: Run,
    source: BinaryIO,
    *,
    attempt: int,
    epoch: int,
    step: int,
    metrics: dict[str, float],
    expected_sha256: str | None,
    max_bytes: int,
) -> CheckpointPublic:
    checkpoint = Checkpoint(run_id=run.id, attempt=attempt, epoch=epoch, step=step, metrics=metrics)
    checkpoint.storage_path = f"runs/{run.id}/checkpoints/{_new_id(checkpoint)}.ckpt"
    stored = storage.receive(source, root, checkpoint.storage_path, expected_sha256, max_bytes)
    checkpoint.size, checkpoint.sha256 = stored.size, stored.sha256
    session.add(checkpoint)
    try:
        session.flush()
        dropped = apply_retention(session, run)
        session.commit()
    except BaseException:
        session.rollback()
        storage.remove(root, checkpoint.storage_path)
        raise
    # Files go only after the rows are gone for good, so a failed commit loses nothing.
    for path in dropped.values():
        storage.remove(root, path)
    public = CheckpointPublic.model_validate(checkpoint)
    public.retained = checkpoint.id not in dropped
    return public


def _new_id(record: Checkpoint | ExportedModel) -> str:
    # Set before the insert: the file is named after the row, and written first.
    record.id = str(uuid4())
    return record.id


def apply_retention(session: Session, run: Run) -> dict[str, str]:
    """Marks best/last and deletes the rows the policy drops; returns {id: path} dropped."""
    checkpoints = list(session.scalars(select(Checkpoint).where(Checkpoint.run_id == run.id)))
    decision = retention.decide(
        [
            retention.Candidate(
                id=c.id, order=(c.attempt, c.step, c.created_at.timestamp()), metrics=c.metrics
            )
            for c in checkpoints
        ],
        _policy(run),
    )
    dropped: dict[str, str] = {}
    for c in checkpoints:
        if c.id in decision.keep:
            c.is_best = c.id == decision.best
            c.is_last = c.id == decision.last
        else:
            dropped[c.id] = c.storage_path
            session.delete(c)
    return dropped


def store_export(
    session: Session,
    root: Path,
    run: Run,
    source: BinaryIO,
    *,
    export_format: str,
    input_signature: dict[str, Any],
    verified: bool,
    expected_sha256: str | None,
    max_bytes: int,
) -> ExportPublic:
    if export_format not in EXPORT_SUFFIX:
        raise InvalidInput(
            f"format {export_format!r} is not one of {sorted(EXPORT_SUFFIX)}",
            loc=["body", "format"],
        )
    export = ExportedModel(
        run_id=run.id, format=export_format, input_signature=input_signature, verified=verified
    )
    export.storage_path = f"runs/{run.id}/exports/{_new_id(export)}{EXPORT_SUFFIX[export_format]}"
    stored = storage.receive(source, root, export.storage_path, expected_sha256, max_bytes)
    export.size, export.sha256 = stored.size, stored.sha256
    session.add(export)
    try:
        session.commit()
    except BaseException:
        session.rollback()
        storage.remove(root, export.storage_path)
        raise
    return ExportPublic.model_validate(export)


def list_checkpoints(session: Session, run_id: str) -> list[CheckpointPublic]:
    rows = session.scalars(
        select(Checkpoint)
        .where(Checkpoint.run_id == run_id)
        .order_by(Checkpoint.attempt, Checkpoint.step, Checkpoint.created_at)
    )
    return [CheckpointPublic.model_validate(c) for c in rows]


def list_exports(session: Session, run_id: str) -> list[ExportPublic]:
    rows = session.scalars(
        select(ExportedModel)
        .where(ExportedModel.run_id == run_id)
        .order_by(ExportedModel.created_at)
    )
    return [ExportPublic.model_validate(e) for e in rows]


def latest_checkpoint(session: Session, run_id: str) -> Checkpoint | None:
    """The run's furthest checkpoint, which a requeued attempt resumes from."""
    return session.scalar(
        select(Checkpoint)
        .where(Checkpoint.run_id == run_id)
        .order_by(Checkpoint.step.desc(), Checkpoint.created_at.desc())
        .limit(1)
    )


def get_checkpoint(session: Session, checkpoint_id: str) -> Checkpoint:
    checkpoint = session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        raise NotFound(CHECKPOINT_NOT_FOUND)
    return checkpoint


def get_export(session: Session, export_id: str) -> ExportedModel:
    export = session.get(ExportedModel, export_id)
    if export is None:
        raise NotFound(EXPORT_NOT_FOUND)
    return export


CHECKPOINT_NOT_FOUND = "no such checkpoint; list a run's with GET /api/v1/runs/{id}/checkpoints"
EXPORT_NOT_FOUND = "no such export; list a run's with GET /api/v1/runs/{id}/exports"
