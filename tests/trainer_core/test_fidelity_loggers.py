"""Lightning 1.0's third-party loggers and logger plumbing, as trainer_core provides them.

Comet, Weights & Biases, Neptune and MLflow are hosted services (none reachable from a test),
so their client libraries are stood in for by small recording classes below: the loggers'
own behaviour (what they send, when they create the remote run, how they pickle) is what is
specified here, not the services'.
"""

from __future__ import annotations

import importlib.util
import pickle
from typing import Any

import pytest

import trainer_core as pl
from tests.trainer_core.models import RegressionModel, loader, quiet_trainer
from trainer_core.exceptions import MisconfigurationException
from trainer_core.loggers import (
    CometLogger,
    CSVLogger,
    LoggerCollection,
    MLFlowLogger,
    NeptuneLogger,
    TensorBoardLogger,
    TestTubeLogger,
    WandbLogger,
    comet,
    mlflow,
    neptune,
    wandb,
)
from trainer_core.loggers.base import DummyExperiment


class Recorder:
    """Records every method call made on it as (name, args, kwargs); attributes set on it
    stay set, so a test can give the stand-in run an id or a project name."""

    def __init__(self, **attributes: Any) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.__dict__.update(attributes)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)

        def record(*args: Any, **kwargs: Any) -> None:
            self.calls.append((name, args, kwargs))

        return record

    def called(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(args, kwargs) for called, args, kwargs in self.calls if called == name]


@pytest.mark.parametrize(
    ("logger_class", "module", "package", "kwargs"),
    [
        (CometLogger, "comet_ml", "comet-ml", {"save_dir": "logs"}),
        (MLFlowLogger, "mlflow", "mlflow", {}),
        (NeptuneLogger, "neptune", "neptune-client", {"offline_mode": True}),
        (WandbLogger, "wandb", "wandb", {}),
        (TestTubeLogger, "test_tube", "test-tube", {"save_dir": "logs"}),
    ],
)
def test_a_third_party_logger_without_its_package_names_the_package_to_install(
    logger_class: Any, module: str, package: str, kwargs: dict[str, Any]
) -> None:
    if importlib.util.find_spec(module) is not None:
        pytest.skip(f"{module} is installed here")
    with pytest.raises(ImportError, match=f"pip install {package}"):
        logger_class(**kwargs)


# --- Comet ----------------------------------------------------------------------------------
@pytest.fixture
def comet_offline(monkeypatch: pytest.MonkeyPatch) -> list[Recorder]:
    """A stand-in comet_ml without an API key configured; returns the experiments built."""
    built: list[Recorder] = []

    class Config:
        def get_api_key(self, *args: Any) -> None:
            return None

        def get_config(self) -> dict[str, Any]:
            return {}

    class CometML:
        config = Config()

        def generate_guid(self) -> str:
            return "guid-1"

    def offline_experiment(**kwargs: Any) -> Recorder:
        built.append(Recorder(init=kwargs, id="exp-7", project_name=kwargs["project_name"]))
        return built[-1]

    monkeypatch.setattr(comet, "comet_ml", CometML())
    monkeypatch.setattr(comet, "CometOfflineExperiment", offline_experiment)
    return built


def test_comet_logger_with_only_a_save_dir_is_offline_and_creates_nothing_until_used(
    comet_offline: list[Recorder], tmp_path: Any
) -> None:
    logger = CometLogger(save_dir=str(tmp_path), project_name="proj")
    assert logger.mode == "offline"
    assert (logger.name, logger.version) == ("proj", "guid-1")
    assert comet_offline == [] and list(tmp_path.iterdir()) == []
    logger.log_metrics({"loss": 0.5, "epoch": 2}, step=9)
    (experiment,) = comet_offline
    assert experiment.init == {"offline_directory": str(tmp_path), "project_name": "proj"}
    assert experiment.called("log_metrics") == [(({"loss": 0.5},), {"epoch": 2, "step": 9})]
    assert logger.version == "exp-7"


def test_comet_logger_without_api_key_or_save_dir_is_refused(
    comet_offline: list[Recorder],
) -> None:
    with pytest.raises(MisconfigurationException, match="api_key"):
        CometLogger(project_name="proj")


def test_comet_logger_checkpoints_go_under_save_dir_project_and_experiment_key(
    comet_offline: list[Recorder], tmp_path: Any
) -> None:
    logger = CometLogger(save_dir=str(tmp_path / "comet"), project_name="proj")
    trainer = quiet_trainer(tmp_path, logger=logger, limit_train_batches=2)
    trainer.fit(RegressionModel(), loader(), loader())
    assert trainer.checkpoint_callback.dirpath == str(
        tmp_path / "comet" / "proj" / "exp-7" / "checkpoints"
    )
    assert comet_offline[0].called("end") == [((), {})]  # finalize ends the experiment
    assert pickle.loads(pickle.dumps(logger)).save_dir == str(tmp_path / "comet")


# --- Weights & Biases -----------------------------------------------------------------------
@pytest.fixture
def wandb_runs(monkeypatch: pytest.MonkeyPatch) -> list[Recorder]:
    runs: list[Recorder] = []

    class Wandb:
        def init(self, **kwargs: Any) -> Recorder:
            runs.append(Recorder(init=kwargs, id=kwargs["id"] or "run-1", step=0))
            runs[-1].project_name = lambda: "proj"
            return runs[-1]

    monkeypatch.setattr(wandb, "wandb", Wandb())
    monkeypatch.delenv("WANDB_MODE", raising=False)
    return runs


def test_wandb_logger_continues_the_step_axis_of_its_run_on_a_second_fit(
    wandb_runs: list[Recorder],
) -> None:
    logger = WandbLogger()
    logger.log_metrics({"acc": 1.0}, step=3)
    wandb_runs[0].step = 4  # W&B's own step counter after the first fit
    logger.finalize("success")
    logger.log_metrics({"acc": 2.0}, step=3)
    assert [kw["step"] for _, kw in wandb_runs[0].called("log")] == [3, 7]


def test_wandb_logger_sends_hyperparameters_flat_with_none_as_text(
    wandb_runs: list[Recorder],
) -> None:
    logger = WandbLogger()
    logger.experiment.config = Recorder()
    logger.log_hyperparams({"a": None, "nested": {"b": 1}, "fn": len})
    ((params,), kwargs) = logger.experiment.config.called("update")[0]
    assert params == {"a": "None", "nested/b": 1, "fn": "len"}
    assert kwargs == {"allow_val_change": True}


def test_wandb_logger_pickles_as_its_run_id_and_resumes_that_run(
    wandb_runs: list[Recorder], monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = WandbLogger(offline=True)
    assert (logger.name, logger.version) == (None, None)
    _ = logger.experiment
    assert (logger.name, logger.version) == ("proj", "run-1")
    restored = pickle.loads(pickle.dumps(logger))
    _ = restored.experiment
    assert wandb_runs[1].init["id"] == "run-1"
    assert wandb_runs[1].init["resume"] == "allow"


# --- Neptune --------------------------------------------------------------------------------
def test_neptune_logger_creates_its_experiment_when_built_and_stops_it_after_fit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    experiment = Recorder(name="exp", id="PROJ-1")

    class Project:
        def create_experiment(self, **kwargs: Any) -> Recorder:
            return experiment

    class OfflineSession:
        def __init__(self, backend: Any) -> None:
            self.backend = backend

        def get_project(self, name: str) -> Project:
            return Project()

    class Neptune:
        Session = OfflineSession

        def OfflineBackend(self) -> str:
            return "offline"

    monkeypatch.setattr(neptune, "neptune", Neptune())
    logger = NeptuneLogger(offline_mode=True)
    assert logger.experiment is experiment
    logger.log_metric("loss", 0.5, step=3)
    logger.log_metric("loss", 0.25)
    logger.append_tags("one")
    assert experiment.called("log_metric") == [
        (("loss",), {"x": 3, "y": 0.5}),
        (("loss", 0.25), {}),
    ]
    assert experiment.called("append_tags") == [(("one",), {})]
    trainer = quiet_trainer(tmp_path, logger=logger, limit_train_batches=2)
    trainer.fit(RegressionModel(), loader(), loader())
    assert len(experiment.called("stop")) == 1


# --- MLflow ---------------------------------------------------------------------------------
def test_mlflow_logger_names_checkpoints_by_experiment_and_run_id_looked_up_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    clients: list[Recorder] = []

    class Client(Recorder):
        def get_experiment_by_name(self, name: str) -> None:
            self.calls.append(("get_experiment_by_name", (name,), {}))
            return None

        def create_experiment(self, name: str) -> str:
            return "exp-1"

        def create_run(self, **kwargs: Any) -> Any:
            return Recorder(info=Recorder(run_id="run-1"))

    def make_client(uri: str) -> Recorder:
        clients.append(Client(uri=uri))
        return clients[-1]

    monkeypatch.setattr(mlflow, "mlflow", object())
    monkeypatch.setattr(mlflow, "MlflowClient", make_client)
    logger = MLFlowLogger("test", save_dir=str(tmp_path / "mlruns"))
    assert clients[0].uri == f"file:{tmp_path / 'mlruns'}"
    assert (logger.name, logger.version) == ("exp-1", "run-1")
    with pytest.warns(RuntimeWarning, match="special characters"):
        logger.log_metrics({"[x]": 1.0}, step=0)
    trainer = quiet_trainer(tmp_path, logger=logger, limit_train_batches=2)
    trainer.fit(RegressionModel(), loader(), loader())
    assert trainer.checkpoint_callback.dirpath == str(
        tmp_path / "mlruns" / "exp-1" / "run-1" / "checkpoints"
    )
    assert len(clients[0].called("get_experiment_by_name")) == 1
    assert clients[0].called("set_terminated") == [(("run-1", "FINISHED"), {})]


# --- plumbing -------------------------------------------------------------------------------
def test_a_logger_collection_has_no_save_dir_and_passes_aggregation_functions_on(
    tmp_path: Any,
) -> None:
    first, second = TensorBoardLogger(str(tmp_path)), TensorBoardLogger(str(tmp_path))
    collection = LoggerCollection([first, second])
    assert collection.save_dir is None
    collection.update_agg_funcs({"loss": max}, min)
    for logger in (first, second):
        logger.agg_and_log_metrics({"loss": 1.0, "acc": 1.0}, step=0)
        logger.agg_and_log_metrics({"loss": 3.0, "acc": 3.0}, step=0)
    collected: list[dict[str, float]] = []
    first.log_metrics = lambda metrics, step=None: collected.append(metrics)  # type: ignore[method-assign]
    first.flush_aggregated()
    assert collected == [{"loss": 3.0, "acc": 1.0}]


def test_a_logger_experiment_on_another_rank_is_a_dummy_that_accepts_any_call(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    logger = TensorBoardLogger(str(tmp_path))
    monkeypatch.setenv("LOCAL_RANK", "1")
    experiment = logger.experiment
    assert isinstance(experiment, DummyExperiment)
    assert experiment.add_scalar("x", 1.0, 0) is None
    assert list(tmp_path.iterdir()) == []  # nothing was created on the other rank
    monkeypatch.setenv("LOCAL_RANK", "0")
    assert not isinstance(logger.experiment, DummyExperiment)


def test_pl_loggers_namespace_holds_the_third_party_loggers() -> None:
    assert pl.loggers.WandbLogger is WandbLogger
    assert pl.loggers.CometLogger is CometLogger


def test_the_trainer_calls_log_metrics_by_keyword_every_n_steps(tmp_path: Any) -> None:
    """1.0 calls `log_metrics(metrics=..., step=...)`: a logger (or a mock of one) may rely on
    the names."""
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    class Recording(CSVLogger):
        def log_metrics(self, *args: Any, **kwargs: Any) -> None:
            calls.append((args, kwargs))

    trainer = quiet_trainer(
        tmp_path,
        logger=Recording(str(tmp_path)),
        log_every_n_steps=3,
        flush_logs_every_n_steps=3,
        max_steps=10,
        limit_val_batches=0,
    )
    trainer.fit(RegressionModel(), loader(n=160))
    assert all(args == () and set(kwargs) == {"metrics", "step"} for args, kwargs in calls)
    assert [kwargs["step"] for _, kwargs in calls] == [2, 5, 8]
