"""System metrics of a run: every few seconds, the CPU and memory of the run's whole process
tree (psutil) and, for each GPU the run holds, its utilisation, memory and power (NVIDIA's
management library, NVML, through nvidia-ml-py), published as `system/*` metric series through
the run's EventPublisher like any other points.

A GPU is reported only when NVML answers for it: on a machine without NVIDIA's driver (or
without the slot's device) there are simply no GPU series, never made-up ones. The step of a
sample is the wall-clock second it was taken at, so the series of successive attempts (and
their resumed steps) never overwrite each other; a node other than rank 0 reports under
`system/node<rank>/`.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import psutil

from runyard.schemas import MetricPoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class GpuSample:
    index: int
    utilization_percent: float
    memory_bytes: float
    memory_total_bytes: float
    power_watts: float | None


@dataclass(frozen=True)
class Sample:
    at: float
    cpu_percent: float
    """Summed over the tree's processes: 100 per fully used core."""
    memory_bytes: float
    """Resident memory summed over the tree's processes."""
    processes: int
    gpus: tuple[GpuSample, ...] = ()


def sample_points(sample: Sample, prefix: str = "system/") -> list[MetricPoint]:
    """The metric points of one sample (pure)."""
    step = int(sample.at)
    values: list[tuple[str, float]] = [
        ("cpu_percent", sample.cpu_percent),
        ("memory_bytes", sample.memory_bytes),
        ("processes", float(sample.processes)),
    ]
    for gpu in sample.gpus:
        values += [
            (f"gpu{gpu.index}/utilization_percent", gpu.utilization_percent),
            (f"gpu{gpu.index}/memory_bytes", gpu.memory_bytes),
            (f"gpu{gpu.index}/memory_percent", 100.0 * gpu.memory_bytes / gpu.memory_total_bytes)
            if gpu.memory_total_bytes
            else (f"gpu{gpu.index}/memory_percent", 0.0),
        ]
        if gpu.power_watts is not None:
            values.append((f"gpu{gpu.index}/power_watts", gpu.power_watts))
    return [
        MetricPoint(key=f"{prefix}{key}", step=step, value=value, wall_time=sample.at)
        for key, value in values
    ]


@dataclass
class ProcessTree:
    """CPU and memory of a process and all its descendants. psutil measures a process's CPU
    between two calls on the same Process object, so the objects are kept between samples."""

    root: int
    _known: dict[int, psutil.Process] = field(default_factory=dict)

    def sample(self) -> tuple[float, float, int] | None:
        """(cpu percent, resident bytes, processes), None once the root is gone."""
        try:
            root = self._known.get(self.root) or psutil.Process(self.root)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return None
        cpu = memory = 0.0
        alive: dict[int, psutil.Process] = {}
        for process in tree:
            known = self._known.get(process.pid, process)
            try:
                with known.oneshot():
                    cpu += known.cpu_percent(interval=None)
                    memory += known.memory_info().rss
            except psutil.Error:
                continue  # ended between the listing and the reading
            alive[process.pid] = known
        self._known = alive
        return cpu, memory, len(alive)


class Nvml:
    """NVML for the devices of `indexes` (CUDA ordinals); `available` is False when the
    library or driver is absent, and then no GPU is sampled."""

    def __init__(self, indexes: Sequence[int], library: Any = None) -> None:
        self.available = False
        self._handles: list[tuple[int, Any]] = []
        try:
            self._nvml = library if library is not None else _import_pynvml()
            self._nvml.nvmlInit()
        except Exception as exc:  # no library, no driver, no device: no GPU series
            log.debug("NVML unavailable, no GPU metrics: %s", exc)
            return
        self.available = True
        for index in indexes:
            try:
                self._handles.append((index, self._nvml.nvmlDeviceGetHandleByIndex(index)))
            except Exception as exc:
                log.warning("NVML has no device %s: %s", index, exc)

    def sample(self) -> tuple[GpuSample, ...]:
        samples = []
        for index, handle in self._handles:
            try:
                utilization = self._nvml.nvmlDeviceGetUtilizationRates(handle)
                memory = self._nvml.nvmlDeviceGetMemoryInfo(handle)
            except Exception as exc:
                log.warning("NVML could not read device %s: %s", index, exc)
                continue
            try:
                power: float | None = self._nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0
            except Exception:
                power = None  # not every device reports power
            samples.append(
                GpuSample(
                    index=index,
                    utilization_percent=float(utilization.gpu),
                    memory_bytes=float(memory.used),
                    memory_total_bytes=float(memory.total),
                    power_watts=power,
                )
            )
        return tuple(samples)

    def close(self) -> None:
        if self.available:
            with contextlib.suppress(Exception):  # shutting down: nothing to do about it
                self._nvml.nvmlShutdown()


def _import_pynvml() -> Any:
    import pynvml  # nvidia-ml-py

    return pynvml


class SystemSampler:
    """Samples a run every `interval` seconds on its own thread until stopped; the run's
    process is found through `pid` (it may not exist yet, or any more)."""

    def __init__(
        self,
        pid: Callable[[], int | None],
        publish: Callable[[Iterable[MetricPoint]], None],
        interval: float,
        gpus: Sequence[int] = (),
        prefix: str = "system/",
        nvml: Nvml | None = None,
    ) -> None:
        self._pid = pid
        self._publish = publish
        self._interval = interval
        self._prefix = prefix
        self._gpus = list(gpus)
        self._nvml = nvml
        self._tree: ProcessTree | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="system-metrics", daemon=True)

    def start(self) -> "SystemSampler":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> Sample | None:
        pid = self._pid()
        if pid is None:
            return None
        if self._tree is None or self._tree.root != pid:
            self._tree = ProcessTree(pid)
        measured = self._tree.sample()
        if measured is None:
            return None
        cpu, memory, processes = measured
        gpus = self._nvml.sample() if self._nvml is not None else ()
        return Sample(time.time(), cpu, memory, processes, gpus)

    def _loop(self) -> None:
        if self._nvml is None and self._gpus:
            self._nvml = Nvml(self._gpus)
        try:
            while not self._stop.wait(self._interval):
                try:
                    sample = self.sample()
                    if sample is not None:
                        self._publish(sample_points(sample, self._prefix))
                except Exception:  # metrics are a side show: never end the run over them
                    log.exception("sampling system metrics failed")
        finally:
            if self._nvml is not None:
                self._nvml.close()
