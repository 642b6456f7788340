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
    (
        "tests/models/test_amp.py::test_amp_without_apex",
        "unsupported",
        "Trainer(amp_backend='apex') (Apex is refused); also reads trainer.dev_debugger",
    ),
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
    # 1.0.8's own loop objects and connectors, driven or read directly (trainer.train_loop,
    # trainer.run_evaluation, trainer.logger_connector, trainer.checkpoint_connector) or the
    # test helpers that do (tests/base: run_model_test -> checkpoint_connector.hpc_save,
    # assert_ok_model_acc -> logger_connector.callback_metrics)
    (
        "tests/trainer/legacy_deprecate_flow_log_tests/test_eval_loop_dict_return.py::*",
        "internal",
        "calls trainer.run_evaluation(test_mode=...) and reads trainer.logger_connector",
    ),
    (
        "tests/trainer/legacy_deprecate_flow_log_tests/test_trainer_steps_*_return.py::test_*",
        "internal",
        "drives trainer.train_loop.run_training_batch / training_step_and_backward, reads "
        "trainer.logger_connector or trainer.dev_debugger",
    ),
    (
        "tests/trainer/data_flow/test_train_loop_flow_scalar_1_0.py::test_training_step_no_return_when_even",
        "internal",
        "drives trainer.train_loop.run_training_batch",
    ),
    (
        "tests/trainer/test_trainer.py::test_gradient_clipping",
        "internal",
        "patches trainer.train_loop",
    ),
    (
        "tests/trainer/test_trainer.py::test_model_checkpoint_only_weights",
        "internal",
        "trainer.checkpoint_connector",
    ),
    (
        "tests/models/test_cpu.py::test_cpu_slurm_save_load",
        "internal",
        "trainer.checkpoint_connector",
    ),
    (
        "tests/models/test_cpu.py::test_cpu_model",
        "internal",
        "tests/base run_model_test: trainer.checkpoint_connector.hpc_save/hpc_load",
    ),
    (
        "tests/models/test_cpu.py::test_all_features_cpu_model",
        "internal",
        "tests/base run_model_test: trainer.checkpoint_connector.hpc_save/hpc_load",
    ),
    (
        "tests/models/test_cpu.py::test_early_stopping_cpu_model",
        "internal",
        "tests/base run_model_test: trainer.checkpoint_connector.hpc_save/hpc_load",
    ),
    (
        "tests/models/test_restore.py::test_load_model_from_checkpoint*",
        "internal",
        "tests/base assert_ok_model_acc: trainer.logger_connector.callback_metrics",
    ),
    (
        "tests/models/test_cpu.py::test_running_test_no_val",
        "internal",
        "tests/base assert_ok_model_acc: trainer.logger_connector.callback_metrics",
    ),
    (
        "tests/core/test_datamodules.py::test_train*_loop_only",
        "internal",
        "trainer.logger_connector.callback_metrics",
    ),
    (
        "tests/trainer/test_optimizers.py::test_optimizer_return_options",
        "internal",
        "calls trainer.init_optimizers (TrainerOptimizersMixin)",
    ),
    (
        "tests/trainer/test_optimizers.py::test_none_optimizer_warning",
        "internal",
        "calls trainer.init_optimizers (TrainerOptimizersMixin)",
    ),
    (
        "tests/trainer/test_trainer_tricks.py::test_overfit_batch_limits",
        "internal",
        "calls trainer.reset_train_dataloader and the private trainer._reset_eval_dataloader",
    ),
    # trainer.dev_debugger (PL_DEV_DEBUG=1): the recorder of dataloader loads, logged metrics and
    # scheduler steps, and the 'debug_epoch' key it adds to callback_metrics
    (
        "tests/trainer/test_dataloaders.py::test_dataloaders_load_*",
        "internal",
        "counts loads with trainer.dev_debugger",
    ),
    (
        "tests/trainer/test_dataloaders.py::test_dataloaders_with_fast_dev_run",
        "internal",
        "trainer.dev_debugger",
    ),
    (
        "tests/trainer/test_dataloaders.py::test_dataloaders_with_limit_num_batches[[]1-2-*",
        "internal",
        "counts seen batches with trainer.dev_debugger",
    ),
    (
        "tests/trainer/test_correct_freq_accumulation.py::*",
        "internal",
        "trainer.dev_debugger (and 0.9's EvalResult)",
    ),
    (
        "tests/trainer/legacy_deprecate_flow_log_tests/test_trainer_steps_dict_return.py::test_result_obj_lr_scheduler_*",
        "internal",
        "trainer.dev_debugger.saved_lr_scheduler_updates",
    ),
    (
        "tests/trainer/logging_tests/test_eval_loop_logging_1_0.py::test_eval_epoch_logging*",
        "internal",
        "trainer.dev_debugger ('debug_epoch', logged_metrics records)",
    ),
    (
        # checked: with that key's removal made tolerant (discard), both pass on trainer_core
        "tests/trainer/logging_tests/test_train_loop_logging_1_0.py::test__training_step__*log",
        "internal",
        "removes the 'debug_epoch' key trainer.dev_debugger adds to callback_metrics",
    ),
    (
        "tests/trainer/logging_tests/test_train_loop_logging_1_0.py::test__training_step__step_end__epoch_end__log*",
        "internal",
        "trainer.dev_debugger ('debug_epoch', logged_metrics records)",
    ),
    (
        "tests/core/test_datamodules.py::test_can_prepare_data",
        "internal",
        "calls trainer.data_connector.can_prepare_data() and sets trainer.local_rank/node_rank "
        "by hand (trainer_core's ranks come from the strategy, read-only)",
    ),
    (
        "tests/models/test_grad_norm.py::test_grad_tracking[[]*",
        "internal",
        "compares against trainer.dev_debugger.logged_metrics",
    ),
    (
        # checked: with manual_optimizer_step the test runs to that line
        "tests/trainer/optimization/test_manual_optimization.py::test_manual_optimizer_step_with_optimizer_closure",
        "internal",
        "counts backward calls with trainer.dev_debugger.count_events",
    ),
    (
        "tests/trainer/optimization/test_manual_optimization.py::test_manual_optimizer_step_with_optimizer_closure_and_accumulated_grad",
        "internal",
        "calls trainer.train_loop.should_accumulate() in training_step; counts backward calls "
        "with trainer.dev_debugger",
    ),
    (
        # checked: with that key's removal made tolerant (discard), both pass on trainer_core
        "tests/trainer/logging_tests/test_eval_loop_logging_1_0.py::test__validation_step__*log",
        "internal",
        "removes the 'debug_epoch' key trainer.dev_debugger adds to callback_metrics",
    ),
    (
        # checked: up to the dev_debugger key, its values and callback metrics match 1.0.8's
        "tests/trainer/logging_tests/test_eval_loop_logging_1_0.py::test_eval_logging_auto_reduce",
        "internal",
        "expects trainer.dev_debugger's 'debug_epoch' key and reads trainer.dev_debugger.logged_metrics",
    ),
    (
        # also a public difference before that: trainer_core refuses self.log of a dict value
        "tests/trainer/logging_tests/test_train_loop_logging_1_0.py::test_different_batch_types_for_sizing",
        "internal",
        "reads trainer.logger_connector.logged_metrics",
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
        "tests/models/test_hparams.py::test_collect_init_arguments[[]AggSubClassEvalModel[]]",
        "deliberate",
        "checkpoints keep hyperparameters as plain values (weights_only=True): an nn.Module "
        "hyperparameter is stored as its repr",
    ),
    (
        "tests/models/test_hparams.py::test_collect_init_arguments[[]DictConfSubClassEvalModel[]]",
        "deliberate",
        "checkpoints keep hyperparameters as plain values (weights_only=True): a DictConfig "
        "nested in the hyperparameters loads back as a dict (a top-level config stays one)",
    ),
    (
        "tests/trainer/dynamic_args/test_multiple_optimizers.py::test_multiple_optimizers_manual",
        "deliberate",
        "manual optimization whose training_step returns None: training_epoch_end gets the "
        "(empty) list of returned outputs; 1.0.8's legacy path hands it one list per optimizer "
        "([[batch results], []]), which is what the test's len(outputs) == 2 counts",
    ),
    (
        "tests/trainer/test_config_validator.py::test_test_loop_config",
        "deliberate",
        "test() without test data or without test_step raises, naming what is missing (1.0 "
        "warns and tests nothing)",
    ),
    (
        # checked: passes when the closure leaves out its zero_grad
        "tests/models/test_cpu.py::test_lbfgs_cpu_model",
        "deliberate",
        "LBFGS re-evaluations start from zeroed gradients (torch's closure contract); 1.0.8 adds "
        "each re-evaluation's gradients to the previous ones, and the test's accuracy threshold "
        "is reached only that way",
    ),
    (
        "tests/models/test_restore.py::test_callbacks_*_resume_from_checkpoint",
        "deliberate",
        "monitors 'early_stop_on', which only the sanity check's 0.9-style validation_epoch_end "
        "dict produced (max_steps=1 stops before any validation); trainer_core keeps sanity "
        "check values from callbacks",
    ),
    (
        "tests/trainer/test_trainer.py::test_benchmark_option",
        "deliberate",
        "benchmark/deterministic set torch's global cudnn flags for the run only and restore "
        "them after (1.0 sets them at construction and leaves them)",
    ),
    (
        "tests/trainer/data_flow/test_train_loop_flow_scalar_1_0.py::test_train_step_no_return",
        "deliberate",
        "an epoch in which no training_step returned a loss raises (1.0 warns per batch and "
        "trains nothing)",
    ),
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
