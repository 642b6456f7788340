"""What the parent worker tells a run's child: the file `python -m worker.run_child` reads.

It holds no secret: the run-scoped token reaches the child through its environment only.
"""

from pydantic import BaseModel, ConfigDict

from runyard.schemas import ExperimentSpec

TENSORBOARD_DIR = "tensorboard"


class ChildPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run_id: str
    attempt: int
    spec: ExperimentSpec
    code_dir: str | None = None
    """An unpacked code bundle, put first on sys.path."""
    resume_checkpoint: str | None = None
    checkpoint_dir: str = "checkpoints"
    outbox_dir: str = "outbox"
    """Files handed to the parent for upload (hard links, so top-k pruning cannot race them)."""
    export_dir: str = "exports"
    tensorboard_dir: str = TENSORBOARD_DIR
    """TensorBoard event files, uploaded by the parent when the run ends."""
    gpus: int = 0
    node_rank: int = 0
    num_nodes: int = 1
    ends_paused: bool = False
    """An ASHA trial at the end of a rung below the top: no export (its search may resume it)."""
