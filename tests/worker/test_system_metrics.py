"""System metrics: a real run's process tree is sampled into system/* series through the
normal event path; GPUs are reported only when NVML answers (on this machine, with no NVIDIA
driver, there are simply none); the NVML reading is checked with a stand-in for the GPU only."""

import subprocess
import sys
import threading
from types import SimpleNamespace

import httpx
from sqlalchemy.orm import sessionmaker

from server.ingest.consumer import Ingester
from tests.worker.polling import wait_for
from tests.worker.test_run_task import all_events, assign
from worker.run_task import execute
from worker.system_metrics import GpuSample, Nvml, ProcessTree, Sample, sample_points


def _system_keys(ctx):
    return {p.key for e in all_events(ctx) if e.kind == "metric_columns" for p in e.points}


def test_a_real_run_produces_cpu_and_memory_series_and_no_gpu_series(ctx, world, tmp_path):
    ctx.settings = ctx.settings.model_copy(update={"system_metrics_seconds": 0.2})
    release = tmp_path / "release"
    # The run holds 60 MB and spins until the test has seen it sampled.
    code = f"""
        import pathlib
        held = bytearray(60_000_000)
        while not pathlib.Path({str(release)!r}).exists():
            sum(range(10_000))
    """
    placed = world.place()
    outcome = {}
    task = threading.Thread(
        target=lambda: outcome.update(result=execute(assign(ctx, placed, code), ctx))
    )
    task.start()
    try:
        wait_for(
            lambda: {"system/cpu_percent", "system/memory_bytes"} <= _system_keys(ctx),
            timeout=60,
            what="the run's system metrics in the event stream",
        )
    finally:
        release.touch()
        task.join()
    assert outcome["result"] == "completed"
    assert not any("gpu" in key for key in _system_keys(ctx))  # no NVML here: no GPU series

    # The normal ingest path stores them as series of the run.
    ingester = Ingester(sessionmaker(world.engine), ctx.redis, ctx.settings.redis_prefix)
    ingester.ensure_group()
    while ingester.step():
        pass
    headers = {"Authorization": f"Bearer {world.live.admin_token}"}
    keys = httpx.get(f"{world.url}/api/v1/runs/{placed.run_id}/metrics", headers=headers).json()
    assert {"system/cpu_percent", "system/memory_bytes", "system/processes"} <= set(keys["keys"])
    memory = httpx.get(
        f"{world.url}/api/v1/runs/{placed.run_id}/metrics/system/memory_bytes", headers=headers
    ).json()["points"]
    assert max(p["value"] for p in memory) >= 60_000_000


def test_a_process_tree_counts_every_descendant():
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import subprocess, sys; subprocess.run([sys.executable, '-c', "
            "'import sys; sys.stdin.read()'], stdin=sys.stdin); ",
        ],
        stdin=subprocess.PIPE,
    )
    try:
        tree = ProcessTree(child.pid)
        measured = wait_for(
            lambda: (m := tree.sample()) is not None and m[2] == 2 and m,
            what="the child and its grandchild",
        )
        assert measured[1] > 0
    finally:
        child.communicate(b"", timeout=30)
    assert ProcessTree(child.pid).sample() is None  # gone: no sample, not zeros


def test_without_nvml_there_are_no_gpus():
    nvml = Nvml([0, 1])  # no NVIDIA driver on this machine
    assert nvml.available is False and nvml.sample() == ()


class _FakeGpuLibrary:
    """Stands in for the GPU (NVML's device calls) and nothing else."""

    def nvmlInit(self):
        pass

    def nvmlShutdown(self):
        pass

    def nvmlDeviceGetHandleByIndex(self, index):
        if index > 0:
            raise RuntimeError("NVML_ERROR_INVALID_ARGUMENT")
        return "gpu0"

    def nvmlDeviceGetUtilizationRates(self, handle):
        return SimpleNamespace(gpu=87, memory=40)

    def nvmlDeviceGetMemoryInfo(self, handle):
        return SimpleNamespace(used=4 * 2**30, total=16 * 2**30, free=12 * 2**30)

    def nvmlDeviceGetPowerUsage(self, handle):
        return 215_500  # milliwatts


def test_each_gpu_nvml_reports_becomes_utilisation_memory_and_power_series():
    nvml = Nvml([0, 3], library=_FakeGpuLibrary())  # device 3 does not exist: left out
    [gpu] = nvml.sample()
    assert gpu == GpuSample(0, 87.0, 4 * 2**30, 16 * 2**30, 215.5)
    points = sample_points(Sample(1_700_000_000.5, 150.0, 1e9, 3, (gpu,)))
    assert {p.key: p.value for p in points} == {
        "system/cpu_percent": 150.0,
        "system/memory_bytes": 1e9,
        "system/processes": 3.0,
        "system/gpu0/utilization_percent": 87.0,
        "system/gpu0/memory_bytes": 4 * 2**30,
        "system/gpu0/memory_percent": 25.0,
        "system/gpu0/power_watts": 215.5,
    }
    assert {p.step for p in points} == {1_700_000_000}


def test_a_node_other_than_rank_0_reports_under_its_own_prefix():
    points = sample_points(Sample(10.0, 1.0, 2.0, 1), prefix="system/node1/")
    assert {p.key for p in points} == {
        "system/node1/cpu_percent",
        "system/node1/memory_bytes",
        "system/node1/processes",
    }
