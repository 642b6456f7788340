"""What a worker advertises: declared slots on CPU-only machines, CUDA devices otherwise."""

import torch

from worker.settings import WorkerSettings
from worker.slots import detect_slots, gpu_names


def test_declared_slots_win_so_scheduling_is_testable_without_gpus(monkeypatch):
    monkeypatch.setenv("RUNYARD_WORKER_GPUS", "4")
    assert detect_slots(WorkerSettings().gpus) == ("0", "1", "2", "3")


def test_undeclared_slots_are_the_cuda_devices_or_one_cpu_slot():
    expected = torch.cuda.device_count() if torch.cuda.is_available() else 1
    assert detect_slots(None) == tuple(str(i) for i in range(expected))


def test_declared_slots_on_a_cpu_machine_have_no_gpu_names():
    if not torch.cuda.is_available():
        assert gpu_names(("0", "1")) == []


def test_worker_settings_come_from_runyard_worker_variables(monkeypatch):
    monkeypatch.setenv("RUNYARD_WORKER_NAME", "gpu-7")
    monkeypatch.setenv("RUNYARD_WORKER_CANCEL_GRACE_SECONDS", "2.5")
    settings = WorkerSettings()
    assert (settings.name, settings.cancel_grace_seconds) == ("gpu-7", 2.5)
