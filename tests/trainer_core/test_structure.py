"""trainer_core stays readable: small files, and callbacks/strategies use only the public
surface of the trainer and the module (no `trainer._x` / `module._x` reads)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "trainer_core"
MAX_LINES = 400
# the names callbacks and strategies use for the trainer and the module they work on
OWNER_NAMES = {"trainer", "pl_module", "module", "model", "lightning_module"}


def _private_reads(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.Attribute):
            continue
        attr = node.attr
        if not attr.startswith("_") or attr.startswith("__"):
            continue
        owner = node.value
        if isinstance(owner, ast.Attribute) and owner.attr in OWNER_NAMES:
            name = f"{ast.unparse(owner)}.{attr}"  # self.trainer._x
        elif isinstance(owner, ast.Name) and owner.id in OWNER_NAMES:
            name = f"{owner.id}.{attr}"
        else:
            continue
        found.append(f"{path.name}:{node.lineno}: {name}")
    return found


def test_no_file_in_trainer_core_is_over_400_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE.parent)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_callbacks_and_strategies_never_read_private_trainer_or_module_attributes() -> None:
    reads = [
        hit
        for folder in ("callbacks", "strategies")
        for path in sorted((PACKAGE / folder).rglob("*.py"))
        for hit in _private_reads(path)
    ]
    assert reads == []


def test_the_private_attribute_check_sees_what_it_forbids(tmp_path: Path) -> None:
    sample = tmp_path / "probe.py"
    sample.write_text(
        "def f(trainer, pl_module, self):\n"
        "    trainer._hooks\n    pl_module._results\n    self.trainer._stop_request\n"
        "    trainer.__class__\n    other._x\n"
    )
    assert [hit.split(": ")[1] for hit in _private_reads(sample)] == [
        "trainer._hooks",
        "pl_module._results",
        "self.trainer._stop_request",
    ]


def test_strategies_see_the_trainer_only_through_its_typed_view() -> None:
    """Strategies are typed against `trainer_core.trainer.view.TrainerView`, which lists what
    they may use; none imports the Trainer class itself or touches callbacks' settings."""
    offenders = []
    for path in sorted((PACKAGE / "strategies").rglob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in (
                "trainer_core.trainer.trainer",
                "trainer_core.callbacks.progress",
                "trainer_core.callbacks.model_checkpoint",
            ):
                offenders.append(f"{path.name}:{node.lineno}: imports {node.module}")
    assert offenders == []


def test_one_loop_class_per_level_each_with_run_in_its_own_module() -> None:
    from trainer_core.trainer import loops

    expected = {
        "fit": "FitLoop",
        "training_epoch": "TrainingEpochLoop",
        "automatic": "AutomaticOptimization",
        "manual": "ManualOptimization",
        "evaluation": "EvaluationLoop",
    }
    for module_name, class_name in expected.items():
        cls = getattr(loops, class_name)
        assert isinstance(cls, type)
        assert cls.__module__ == f"trainer_core.trainer.loops.{module_name}"
        assert callable(getattr(cls, "run", None)), class_name


def test_the_loops_read_no_private_trainer_flags() -> None:
    """The loops' position lives in `trainer.loop_state`; no `trainer._x_pending`-style flags."""
    flags = [
        hit
        for path in sorted((PACKAGE / "trainer" / "loops").glob("*.py"))
        for hit in _private_reads(path)
        if hit.rsplit(".", 1)[1].endswith(("_pending", "_flag", "_arg"))
    ]
    assert flags == []
