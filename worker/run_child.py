"""`python -m worker.run_child plan.json`: the child process that trains one run.

Imports the user's LightningModule (and DataModule) from the spec's entrypoints, trains with
trainer_core (resuming from a checkpoint when the plan has one), then exports the best (else
last) weights to TorchScript and ONNX, checks each against the eager model on a sample input,
and reports everything to the parent through notices. Never sees Redis or worker credentials.
"""

import importlib
import os
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

import torch

import trainer_core
from runyard.schemas import EntrypointSpec, ExperimentSpec
from trainer_core.callbacks import ModelCheckpoint, PreemptionHandler
from trainer_core.loggers import TensorBoardLogger
from worker.child_plan import ChildPlan
from worker.errors import EntrypointError, ExportMismatch
from worker.notices import ExportNotice, FailureNotice, PreemptedNotice
from worker.trainer_hooks import NoticeWriter, RunyardCallback, RunyardLogger

EXPORT_ATOL = 1e-4


def load_class(entrypoint: str, expected: type) -> type:
    module_name, _, class_name = entrypoint.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise EntrypointError(
            f"entrypoint {entrypoint!r}: module {module_name!r} cannot be imported ({exc}); "
            "install its package on the workers or submit the experiment with a code bundle"
        ) from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise EntrypointError(
            f"entrypoint {entrypoint!r}: module {module_name!r} has no {class_name!r}; "
            "check the class name in the spec"
        )
    if not (isinstance(cls, type) and issubclass(cls, expected)):
        raise EntrypointError(
            f"entrypoint {entrypoint!r}: {class_name} is not a {expected.__name__} subclass"
        )
    return cls


def instantiate(entry: EntrypointSpec, expected: type) -> Any:
    return load_class(entry.entrypoint, expected)(**entry.init_args)


def build_trainer(plan: ChildPlan, workdir: Path, notices: NoticeWriter) -> trainer_core.Trainer:
    spec = plan.spec
    policy = spec.checkpoint
    checkpoint = ModelCheckpoint(
        dirpath=str(workdir / plan.checkpoint_dir),
        monitor=policy.monitor,
        mode=policy.mode,
        save_top_k=policy.save_top_k if policy.monitor else None,
        save_last=policy.save_last,
    )
    args = spec.trainer.model_dump(exclude_none=True, exclude={"seed"})
    # Slots declared on a CPU-only machine (RUNYARD_WORKER_GPUS) schedule like GPUs but the
    # run trains on the CPU.
    gpus = plan.gpus if torch.cuda.is_available() else 0
    distributed = gpus > 1 or plan.num_nodes > 1
    if plan.num_nodes > 1:
        # The worker gives MASTER_ADDR/MASTER_PORT/NODE_RANK; the world size depends on the
        # processes per node, known only here (a CPU-only node runs one).
        os.environ.setdefault("WORLD_SIZE", str(plan.num_nodes * max(gpus, 1)))
    return trainer_core.Trainer(
        **args,
        # Events stream to Runyard; TensorBoard event files are kept too (uploaded at the end).
        logger=[
            RunyardLogger(notices, plan.run_id, plan.attempt),
            TensorBoardLogger(
                str(workdir / plan.tensorboard_dir),
                name="",
                version=f"attempt-{plan.attempt}",
                default_hp_metric=False,
            ),
        ],
        callbacks=[
            checkpoint,
            RunyardCallback(notices, workdir, workdir / plan.outbox_dir),
            # The worker asks for a checkpoint and a stop with SIGUSR1 (preemption).
            PreemptionHandler(signals=(signal.SIGUSR1,)),
        ],
        default_root_dir=str(workdir),
        resume_from_checkpoint=plan.resume_checkpoint,
        gpus=gpus or None,
        num_nodes=plan.num_nodes,
        accelerator="ddp" if distributed else None,
        # tqdm's carriage-return redraws do not make log lines; RunyardCallback prints progress.
        progress_bar_refresh_rate=0,
    )


def _sample_input(model: Any, datamodule: Any) -> Any:
    """The module's example_input_array, else the inputs of one batch from the data."""
    if model.example_input_array is not None:
        return model.example_input_array
    source = datamodule if datamodule is not None else model
    for name in ("val_dataloader", "train_dataloader", "test_dataloader"):
        try:
            loader = getattr(source, name)()
        except (NotImplementedError, AttributeError, TypeError):
            continue
        if isinstance(loader, list | tuple):
            loader = loader[0] if loader else None
        if loader is None:
            continue
        batch = next(iter(loader))
        inputs = batch[0] if isinstance(batch, list | tuple) else batch
        return inputs[:2] if isinstance(inputs, torch.Tensor) else inputs
    raise ExportMismatch(
        "no sample input for the export: set example_input_array on the module or give it a "
        "datamodule with a val or train dataloader"
    )


def _as_tuple(sample: Any) -> tuple[Any, ...]:
    return sample if isinstance(sample, tuple) else (sample,)


def _max_diff(expected: Any, actual: Any) -> float:
    left = [t for t in _flatten(expected)]
    right = [torch.as_tensor(t) for t in _flatten(actual)]
    if len(left) != len(right):
        raise ExportMismatch(f"the export returns {len(right)} outputs, the model {len(left)}")
    return max(
        (float((a.float() - b.float()).abs().max()) for a, b in zip(left, right, strict=True)),
        default=0.0,
    )


def _flatten(value: Any) -> list[torch.Tensor]:
    if isinstance(value, list | tuple):
        return [t for v in value for t in _flatten(v)]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _flatten(v)]
    return [torch.as_tensor(value)]


def export_model(
    plan: ChildPlan,
    workdir: Path,
    model: Any,
    weights: str | None,
    sample: Any,
    notices: NoticeWriter,
) -> list[ExportNotice]:
    """Export `model` (with `weights` loaded when given) and verify each file against it."""
    if weights:
        state = torch.load(weights, map_location="cpu", weights_only=True)["state_dict"]
        model.load_state_dict(state)
    model = model.cpu().eval()
    sample = _as_tuple(sample)
    with torch.no_grad():
        expected = model(*sample)
    export_dir = workdir / plan.export_dir
    export_dir.mkdir(parents=True, exist_ok=True)
    signature = {
        "inputs": [
            {"shape": list(t.shape), "dtype": str(t.dtype).removeprefix("torch.")}
            for t in sample
            if isinstance(t, torch.Tensor)
        ]
    }
    done = []
    for fmt in plan.spec.export.formats:
        if fmt == "torchscript":
            path = export_dir / "model.pt"
            scripted = model.to_torchscript(
                str(path), method=plan.spec.export.torchscript_method, example_inputs=sample
            )
            with torch.no_grad():
                diff = _max_diff(expected, scripted(*sample))
        else:
            import onnxruntime  # late: only runs that export ONNX pay for the import

            path = export_dir / "model.onnx"
            names = [f"input_{i}" if len(sample) > 1 else "input" for i in range(len(sample))]
            model.to_onnx(
                str(path),
                sample if len(sample) > 1 else sample[0],
                input_names=names,
                dynamic_axes={n: {0: "batch"} for n in names} | {"output": {0: "batch"}},
            )
            session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            feeds = {n: t.numpy() for n, t in zip(names, sample, strict=True)}
            diff = _max_diff(expected, session.run(None, feeds))
        if diff > EXPORT_ATOL:
            raise ExportMismatch(
                f"the {fmt} export differs from the eager model by {diff:.3g} (> {EXPORT_ATOL}) "
                "on a sample input; check for randomness or data-dependent control flow in "
                "forward(), or export with torchscript_method: script"
            )
        notice = ExportNotice(
            format=fmt,
            path=str(path.relative_to(workdir)),
            input_signature=signature,
            checkpoint_path=weights,
            max_abs_diff=diff,
        )
        notices.write(notice)
        print(f"[runyard] exported {fmt} ({path.name}), max |diff| {diff:.2e}", flush=True)
        done.append(notice)
    return done


def train(plan: ChildPlan, workdir: Path, notices: NoticeWriter) -> None:
    spec: ExperimentSpec = plan.spec
    if plan.code_dir:
        sys.path.insert(0, plan.code_dir)
    if spec.trainer.seed is not None:
        # Before the module is built, so its initial weights are reproducible too.
        trainer_core.seed_everything(spec.trainer.seed)
    model = instantiate(spec.model, trainer_core.LightningModule)
    datamodule = (
        instantiate(spec.datamodule, trainer_core.LightningDataModule) if spec.datamodule else None
    )
    trainer = build_trainer(plan, workdir, notices)
    if datamodule is not None:
        trainer.fit(model, datamodule=datamodule)
    else:
        trainer.fit(model)
    if trainer.stop_reason == "preemption":
        # Stopped at the worker's request; the run resumes from this checkpoint elsewhere.
        notices.write(PreemptedNotice(step=trainer.global_step))
        print(f"[runyard] preempted at step {trainer.global_step}", flush=True)
        return
    if plan.ends_paused:
        # The end of an ASHA rung: the last checkpoint is uploaded; the search decides whether
        # the trial goes on from it, so there is nothing to export yet.
        print(f"[runyard] paused after epoch {trainer.current_epoch + 1}", flush=True)
        return
    if not trainer.is_global_zero or plan.node_rank != 0 or not spec.export.formats:
        return
    checkpoint = trainer.checkpoint_callback
    weights = None
    if checkpoint is not None:
        weights = checkpoint.best_model_path or checkpoint.last_model_path or None
    export_model(plan, workdir, model, weights, _sample_input(model, datamodule), notices)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) != 1:
        print("usage: python -m worker.run_child <plan.json>", file=sys.stderr)
        return 2
    plan_path = Path(argv[0]).resolve()
    plan = ChildPlan.model_validate_json(plan_path.read_text())
    notices = NoticeWriter.from_env()
    try:
        train(plan, plan_path.parent, notices)
    except Exception as exc:
        text = traceback.format_exc()
        notices.write(FailureNotice(reason=f"{type(exc).__name__}: {exc}", traceback=text))
        print(text, file=sys.stderr, flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
