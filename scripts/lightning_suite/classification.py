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
    # trainer.dev_debugger: Lightning's internal call recorder (PL_DEV_DEBUG)
    (
        "tests/callbacks/test_early_stopping.py::test_early_stopping_no_extraneous_invocations",
        "internal",
        "trainer.dev_debugger",
    ),
    (
        "tests/checkpointing/test_checkpoint_callback_frequency.py::test_mc_called*",
        "internal",
        "trainer.dev_debugger",
    ),
    (
        "tests/checkpointing/test_model_checkpoint.py::test_checkpointing_with_nan_as_first*",
        "internal",
        "trainer.dev_debugger",
    ),
    (
        "tests/checkpointing/test_model_checkpoint.py::test_default_checkpoint_behavior",
        "internal",
        "trainer.dev_debugger",
    ),
    (
        "tests/checkpointing/test_model_checkpoint.py::test_model_checkpoint_correct_score*",
        "internal",
        "trainer.dev_debugger",
    ),
    # trainer connectors and loop objects
    (
        "tests/checkpointing/test_model_checkpoint.py::test_checkpoint_repeated_strategy_extended",
        "internal",
        "trainer.checkpoint_connector.has_trained",
    ),
    (
        "tests/models/test_cpu.py::test_running_test_after_fitting",
        "internal",
        "trainer.logger_connector",
    ),
    (
        "tests/models/test_restore.py::test_running_test_pretrained_model_cpu",
        "internal",
        "trainer.logger_connector",
    ),
    (
        "tests/trainer/test_trainer.py::test_model_checkpoint_options*",
        "internal",
        "trainer.logger_connector",
    ),
    (
        "tests/trainer/test_trainer.py::test_num_sanity_val_steps*",
        "internal",
        "patches trainer.evaluation_loop",
    ),
    (
        "tests/loggers/test_wandb.py::test_wandb_sanitize_callable_params",
        "internal",
        "asserts 1.0.8's argparse artefact: --gpus defaults to its private parser function "
        "_gpus_arg_default (trainer_core defaults to None)",
    ),
    # TPUs (refused on purpose) and devices this machine does not have
    ("tests/trainer/test_trainer.py::test_tpu_choice*", "unsupported", "TPU"),
    (
        "tests/trainer/test_trainer_cli.py::test_argparse_args_parsing[[]--tpu_cores*",
        "unsupported",
        "TPU",
    ),
    (
        "tests/trainer/test_trainer.py::test_trainer_config[[]trainer_kwargs1-*",
        "unsupported",
        "dp needs CUDA GPUs",
    ),
    (
        "tests/trainer/test_trainer.py::test_trainer_config[[]trainer_kwargs2-*",
        "unsupported",
        "dp needs CUDA GPUs",
    ),
    (
        "tests/trainer/test_trainer.py::test_trainer_config[[]trainer_kwargs7-*",
        "unsupported",
        "ddp2 needs CUDA GPUs",
    ),
    (
        "tests/trainer/test_trainer.py::test_trainer_config[[]trainer_kwargs5-*",
        "unsupported",
        "num_nodes=2 needs a multi-node environment (MASTER_ADDR)",
    ),
    # deliberate differences (README, "Where it differs")
    (
        "tests/callbacks/test_early_stopping.py::test_resume_early_stopping_from_checkpoint",
        "deliberate",
        "callback states are keyed by a string state_key so checkpoints load with weights_only=True",
    ),
    (
        "tests/checkpointing/test_model_checkpoint.py::test_model_checkpoint_save_last_checkpoint_contents",
        "deliberate",
        "callback states are keyed by a string state_key so checkpoints load with weights_only=True",
    ),
    (
        "tests/checkpointing/test_model_checkpoint.py::test_hparams_type*",
        "deliberate",
        "checkpoints keep hyperparameters as plain dicts (weights_only=True); the test also "
        "reads trainer.checkpoint_connector.dump_checkpoint()",
    ),
    (
        "tests/checkpointing/test_model_checkpoint.py::test_ckpt_metric_names_results",
        "deliberate",
        "0.9's TrainResult/EvalResult objects are not implemented (self.log replaces them)",
    ),
    (
        "tests/test_profiler.py::test_simple_profiler_describe",
        "deliberate",
        "the profiler report is printed, not sent to a 'lightning' logger",
    ),
]
