"""Why a Lightning 1.0.8 test does not count toward trainer_core's public-API pass rate.

Patterns are fnmatch patterns over test ids (`tests/path/test_file.py::test_name[params]`).
Categories:
- "internal": the test reads or patches Lightning internals no user code touches (the
  accelerator backends, trainer connectors and mixins, private attributes);
- "unsupported": TPU, Horovod, Apex, SLURM auto-requeue, or a GPU (refused on purpose or
  not on this machine);
- "deliberate": trainer_core differs from 1.0 on purpose (README, "Where it differs").
"""

RULES: list[tuple[str, str, str]] = [
    (
        "tests/backends/test_accelerator_connector.py::*",
        "internal",
        "asserts accelerator backend classes",
    ),
    ("tests/plugins/*", "internal", "Lightning's plugin classes (ddp/amp/apex plugins)"),
    ("tests/models/test_tpu.py::*", "unsupported", "TPU"),
    ("tests/models/test_horovod.py::*", "unsupported", "Horovod"),
    ("tests/utilities/test_xla_device_utils.py::*", "unsupported", "TPU (XLA)"),
    ("tests/core/test_results.py::*", "internal", "Result object internals"),
    ("tests/core/test_metric_result_integration.py::*", "internal", "Result object internals"),
    ("tests/utilities/test_upgrade_checkpoint.py::*", "internal", "checkpoint upgrade script"),
    (
        "tests/trainer/test_trainer.py::test_dp_output_reduce",
        "internal",
        "TrainerLoggingMixin (a trainer mixin)",
    ),
    (
        "tests/models/test_hooks.py::test_transfer_batch_hook",
        "internal",
        "sets trainer.accelerator_backend = GPUAccelerator(trainer)",
    ),
]
