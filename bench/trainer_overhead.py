"""Per-step overhead of trainer_core against a plain PyTorch loop and pytorch-lightning 2.x.

Trains the same small MLP (64 -> 256 -> 256 -> 10, SGD, cross-entropy, synthetic data on
CPU, one thread) with batch 32 and 256, first with logger and progress bar off, then on
(TensorBoard every 50 steps and a progress bar; the plain loop gets a SummaryWriter and a
tqdm bar). The module calls `self.log("train_loss", loss)` every step in both frameworks.

Each run is timed four ways, all with setup excluded: `ms_per_step` (its mean step, train
start to train end), `median_step_ms` (its median step gap), `fast_step_ms` (its 10th
percentile step gap: the steps that other tenants' load on the shared cores and caches did
not slow, which is why it moves least from run to run) and `cpu_ms_per_step` (the main
thread's CPU time per step, which other processes' turns on the cores do not count in). Gaps
and CPU time come from one `StampedBatches` sampler that every loader reads its batches
through, so all frameworks are timed by the same code. Runs are interleaved across
frameworks in rounds (the order rotates each round); a framework's line gives the median over
the rounds, and a comparison line the median over rounds of each round's ratio to (and
difference from) the plain loop of the same round, the baseline, with the quartiles of the
per-round ratio (`_q25_q75`). On a shared 2-core machine single steps vary by 20 % and one
round's ratio by several percent, so the median needs many rounds: about 0.5 % apart from run
to run at 41 rounds (`--batch-sizes 32 --logging off --repeats 41` takes about a minute), the
fast-step ratio less; the instruction counts of bench/trainer_instructions.py do not move with
the load at all. Every line carries the load average as it was when the figure was taken. The
model's `self(x)` and `self.log` are part of the trainer_core and Lightning steps (what a
LightningModule does), not of the plain loop.
Prints JSON lines, asserts nothing.

Hook dispatch is measured on its own twice: `hook_dispatch` (the per-step cost of 8 no-op
callbacks' batch hooks inside a real fit, against the same fit without them) and
`hook_dispatch_call` (ns per hook call through the Trainer's dispatcher, through the batch
loop's pre-resolved method lists, and as a direct method call, with no training around it).

    python bench/trainer_overhead.py [--steps 600] [--repeats 21] [--batch-sizes 32 256]
        [--logging off on] [--no-lightning] [--dispatch-only]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import io
import itertools
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, Sampler, SequentialSampler, TensorDataset

# Runnable as `python bench/trainer_overhead.py`: measure this checkout's trainer_core, not an
# installed copy found first on sys.path.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import trainer_core

IN, HIDDEN, OUT = 64, 256, 10
LOG_EVERY = 50
# (perf_counter_ns, thread_time_ns) as each batch is asked for
Stamps = list[tuple[int, int]]


def make_net() -> nn.Module:
    return nn.Sequential(
        nn.Linear(IN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, OUT),
    )


class StampedBatches(Sampler[list[int]]):
    """Batches in order, each stamped as the loader asks for it with the wall clock and this
    thread's CPU clock (perf_counter_ns, thread_time_ns): the gaps between stamps are step
    times, taken by the same code for every framework."""

    def __init__(self, n: int, batch_size: int, stamps: Stamps) -> None:
        self.batches = BatchSampler(SequentialSampler(range(n)), batch_size, drop_last=False)
        self.stamps = stamps

    def __iter__(self) -> Iterator[list[int]]:
        for indices in self.batches:
            self.stamps.append((time.perf_counter_ns(), time.thread_time_ns()))
            yield indices

    def __len__(self) -> int:
        return len(self.batches)


def make_loader(batch_size: int, steps: int, stamps: Stamps | None = None) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    n = batch_size * steps
    x = torch.randn(n, IN, generator=generator)
    y = torch.randint(0, OUT, (n,), generator=generator)
    sampler = StampedBatches(n, batch_size, stamps if stamps is not None else [])
    return DataLoader(TensorDataset(x, y), batch_sampler=sampler)


def module_class(pl: Any) -> type:
    class MLP(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = make_net()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.net(x)

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            loss = F.cross_entropy(self(x), y)
            self.log("train_loss", loss)
            return loss

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    return MLP


def timer_callback(base: type) -> Any:
    class Timer(base):  # type: ignore[misc, valid-type]
        def on_train_start(self, trainer: Any, pl_module: Any) -> None:
            self.start = time.perf_counter()

        def on_train_end(self, trainer: Any, pl_module: Any) -> None:
            self.seconds = time.perf_counter() - self.start

    return Timer()


def run_plain(batch_size: int, steps: int, logging_on: bool, root: str, stamps: Stamps) -> float:
    torch.manual_seed(0)
    net = make_net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    loader = make_loader(batch_size, steps, stamps)
    writer = bar = None
    if logging_on:
        from torch.utils.tensorboard import SummaryWriter
        from tqdm import tqdm

        writer = SummaryWriter(os.path.join(root, "plain"))
        bar = tqdm(total=steps, file=io.StringIO())
    start = time.perf_counter()
    net.train()
    for step, (x, y) in enumerate(loader):
        loss = F.cross_entropy(net(x), y)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if bar is not None and writer is not None:
            if (step + 1) % LOG_EVERY == 0:
                writer.add_scalar("train_loss", loss.item(), step)
            bar.update(1)
    seconds = time.perf_counter() - start
    if writer is not None:
        writer.close()
    return seconds


class NoOpBatchHooks(trainer_core.Callback):
    """Overrides the four per-batch callback hooks with no-ops: what dispatch alone costs."""

    def on_batch_start(self, trainer: Any, pl_module: Any) -> None:
        pass

    def on_batch_end(self, trainer: Any, pl_module: Any) -> None:
        pass

    def on_train_batch_start(self, trainer: Any, pl_module: Any, *args: Any) -> None:
        pass

    def on_train_batch_end(self, trainer: Any, pl_module: Any, *args: Any) -> None:
        pass


def run_trainer_core(
    batch_size: int,
    steps: int,
    logging_on: bool,
    root: str,
    stamps: Stamps,
    extra: Any = (),
) -> float:
    torch.manual_seed(0)
    model = module_class(trainer_core)()
    timer = timer_callback(trainer_core.Callback)
    trainer = trainer_core.Trainer(
        max_epochs=1,
        logger=logging_on,
        checkpoint_callback=False,
        progress_bar_refresh_rate=1 if logging_on else 0,
        weights_summary=None,
        num_sanity_val_steps=0,
        log_every_n_steps=LOG_EVERY,
        default_root_dir=root,
        callbacks=[timer, *extra],
    )
    with contextlib.redirect_stdout(io.StringIO()):
        trainer.fit(model, make_loader(batch_size, steps, stamps))
    return timer.seconds


def load_average() -> list[float]:
    """The 1/5/15-minute load average, printed beside every figure (2 cores, shared)."""
    return [round(value, 2) for value in os.getloadavg()]


# the timings of `timed_rounds`, and the suffix each gets in the comparison lines
TIMINGS = {
    "ms_per_step": "",
    "median_step_ms": "_median_step",
    "fast_step_ms": "_fast_step",
    "cpu_ms_per_step": "_cpu",
}


Samples = dict[str, dict[str, list[float]]]  # framework -> timing -> one value per round


def timed_rounds(
    runners: dict[str, Callable[[Stamps], float]], steps: int, repeats: int
) -> Samples:
    """Each runner once per round, the order rotated every round so that no runner always
    goes first. Per runner and round, four timings (ms per step): its mean step (train
    start to train end), its median and 10th percentile step gaps, and the main thread's CPU
    time per step (which other processes' turns on the cores do not count in). Gaps and CPU
    time come from the loader's batch stamps, from the second (setup left out) to the last."""
    names = list(runners)
    samples: Samples = {name: {timing: [] for timing in TIMINGS} for name in names}
    for round_idx in range(repeats):
        shift = round_idx % len(names)
        for name in names[shift:] + names[:shift]:
            stamps: Stamps = []
            seconds = runners[name](stamps)
            kept = stamps[1:]
            wall_gaps = [later[0] - earlier[0] for earlier, later in itertools.pairwise(kept)]
            figures = samples[name]
            figures["ms_per_step"].append(seconds / steps * 1e3)
            figures["median_step_ms"].append(statistics.median(wall_gaps) / 1e6)
            figures["fast_step_ms"].append(statistics.quantiles(wall_gaps, n=10)[0] / 1e6)
            figures["cpu_ms_per_step"].append((kept[-1][1] - kept[0][1]) / len(wall_gaps) / 1e6)
    return samples


def median_of(samples: Samples, name: str, timing: str) -> float:
    return statistics.median(samples[name][timing])


def paired(samples: Samples, name: str, base: str, timing: str) -> tuple[float, float]:
    """`name` against `base` round by round (their runs were neighbours, under the same load):
    the median over rounds of the ratio, and of the difference in us per step."""
    pairs = list(zip(samples[name][timing], samples[base][timing], strict=True))
    ratio = statistics.median(ours / theirs for ours, theirs in pairs)
    extra_us = statistics.median((ours - theirs) * 1e3 for ours, theirs in pairs)
    return ratio, extra_us


def ratio_quartiles(samples: Samples, name: str, base: str, timing: str) -> list[float]:
    """The first and third quartile of the round-by-round ratio: how far one round's figure
    strays (on a shared 2-core machine, one round's ratio moves by several percent)."""
    ratios = [
        ours / theirs
        for ours, theirs in zip(samples[name][timing], samples[base][timing], strict=True)
    ]
    if len(ratios) < 2:
        return [round(ratios[0], 4)] * 2
    first, _, third = statistics.quantiles(ratios, n=4)
    return [round(first, 4), round(third, 4)]


def measure_hook_dispatch(steps: int, repeats: int, root: str, callbacks: int = 8) -> None:
    """Per-step cost of calling the per-batch hooks of `callbacks` no-op callbacks (4 hooks
    each), against the same run without them: the hook dispatcher's own cost."""
    extra = [NoOpBatchHooks() for _ in range(callbacks)]
    figures = timed_rounds(
        {
            "base": functools.partial(run_trainer_core, 32, steps, False, root),
            "hooked": functools.partial(run_trainer_core, 32, steps, False, root, extra=extra),
        },
        steps,
        repeats,
    )
    calls = 4 * callbacks
    line: dict[str, Any] = {
        "bench": "hook_dispatch",
        "batch_size": 32,
        "noop_callbacks": callbacks,
        "hook_calls_per_step": calls,
    }
    for timing, suffix in TIMINGS.items():
        _, extra_us = paired(figures, "hooked", "base", timing)
        line[f"extra_us_per_step{suffix}"] = round(extra_us, 2)
        line[f"us_per_hook_call{suffix}"] = round(extra_us / calls, 3)
    print(
        json.dumps(
            {
                **line,
                "steps": steps,
                "repeats": repeats,
                "loadavg": load_average(),
            }
        ),
        flush=True,
    )


def measure_dispatch_call_cost(callbacks: int = 8, calls: int = 200_000) -> None:
    """Nanoseconds per hook call, without training around it: one hook (`on_batch_end`,
    overridden by `callbacks` no-op callbacks and by the module) called through the Trainer's
    dispatcher (`_call_hook`, what fit/test use between batches), through the per-hook method
    lists the batch loop resolves once per epoch, and directly as plain method calls."""
    model = module_class(trainer_core)()
    model.on_batch_end = lambda: None  # type: ignore[method-assign]
    extra: list[trainer_core.Callback] = [NoOpBatchHooks() for _ in range(callbacks)]
    trainer = trainer_core.Trainer(
        logger=False, checkpoint_callback=False, progress_bar_refresh_rate=0, callbacks=extra
    )
    trainer._attach(model, None, stage="fit")  # builds the hook table as fit does
    per_round = callbacks + 1  # each callback, then the module
    rounds = max(1, calls // per_round)
    resolved = trainer._hooks.callback_methods("on_batch_end")  # type: ignore[union-attr]
    module_hook = trainer._hooks.module_method("on_batch_end")  # type: ignore[union-attr]
    assert module_hook is not None

    def dispatcher() -> None:
        for _ in range(rounds):
            trainer._call_hook("on_batch_end")

    def loop_path() -> None:
        for _ in range(rounds):
            for method in resolved:
                method(trainer, model)
            module_hook()

    def direct() -> None:
        for _ in range(rounds):
            for callback in extra:
                callback.on_batch_end(trainer, model)
            model.on_batch_end()

    samples: dict[str, list[float]] = {"dispatcher": [], "loop_path": [], "direct": []}
    for _ in range(7):  # interleaved rounds, median of seven
        for name, fn in (("dispatcher", dispatcher), ("loop_path", loop_path), ("direct", direct)):
            start = time.perf_counter_ns()
            fn()
            samples[name].append((time.perf_counter_ns() - start) / (rounds * per_round))
    best = {name: statistics.median(values) for name, values in samples.items()}
    print(
        json.dumps(
            {
                "bench": "hook_dispatch_call",
                "hook": "on_batch_end",
                "callbacks": callbacks,
                "calls": rounds * per_round,
                "ns_per_call_dispatcher": round(best["dispatcher"], 1),
                "ns_per_call_loop_path": round(best["loop_path"], 1),
                "ns_per_call_direct": round(best["direct"], 1),
                "dispatcher_extra_ns_per_call": round(best["dispatcher"] - best["direct"], 1),
                "loop_path_extra_ns_per_call": round(best["loop_path"] - best["direct"], 1),
                "loadavg": load_average(),
            }
        ),
        flush=True,
    )


def run_pytorch_lightning(
    batch_size: int, steps: int, logging_on: bool, root: str, stamps: Stamps
) -> float:
    import pytorch_lightning as pl2

    torch.manual_seed(0)
    model = module_class(pl2)()
    timer = timer_callback(pl2.Callback)
    trainer = pl2.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=1,
        logger=pl2.loggers.TensorBoardLogger(root) if logging_on else False,
        enable_progress_bar=logging_on,
        enable_checkpointing=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        log_every_n_steps=LOG_EVERY,
        default_root_dir=root,
        callbacks=[timer],
    )
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        trainer.fit(model, make_loader(batch_size, steps, stamps))
    return timer.seconds


def compare(batch_size: int, logging_on: bool, figures: Samples) -> dict[str, Any]:
    """Each framework against the plain loop of the same rounds, by each of the timings,
    paired round by round (`paired`)."""
    comparison: dict[str, Any] = {
        "bench": "trainer_overhead_ratio",
        "batch_size": batch_size,
        "logger_and_progress_bar": logging_on,
    }
    for name in ("trainer_core", "pytorch_lightning"):
        if name not in figures:
            continue
        for timing, suffix in TIMINGS.items():
            ratio, extra_us = paired(figures, name, "plain", timing)
            comparison[f"{name}_over_plain{suffix}"] = round(ratio, 4)
            comparison[f"{name}_overhead_us_per_step{suffix}"] = round(extra_us, 1)
        comparison[f"{name}_over_plain_q25_q75"] = ratio_quartiles(
            figures, name, "plain", "ms_per_step"
        )
    comparison["loadavg"] = load_average()
    return comparison


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument(
        "--repeats",
        type=int,
        default=21,
        help="interleaved rounds (the ratio's median settles to about 0.5 %% at 41 here)",
    )
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    parser.add_argument(
        "--logging",
        nargs="+",
        choices=["off", "on"],
        default=["off", "on"],
        help="logger and progress bar off, on, or both",
    )
    parser.add_argument(
        "--no-lightning", action="store_true", help="leave pytorch-lightning 2.x out"
    )
    parser.add_argument(
        "--dispatch-only", action="store_true", help="only the hook-dispatch measurements"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.dispatch_only:
        with tempfile.TemporaryDirectory() as root:
            run_trainer_core(32, 20, False, root, [])  # warm-up
            measure_hook_dispatch(args.steps, args.repeats, root)
        measure_dispatch_call_cost()
        return

    runners: dict[str, Callable[..., float]] = {
        "plain": run_plain,
        "trainer_core": run_trainer_core,
    }
    if not args.no_lightning:
        try:
            import logging

            import pytorch_lightning  # noqa: F401

            logging.getLogger("pytorch_lightning").setLevel(logging.ERROR)
            logging.getLogger("lightning").setLevel(logging.ERROR)
            runners["pytorch_lightning"] = run_pytorch_lightning
        except ImportError:
            pass

    with tempfile.TemporaryDirectory() as root:
        for runner in runners.values():  # warm-up: imports, lazy torch modules, allocator
            runner(32, 20, True, root, [])
        for batch_size in args.batch_sizes:
            for logging_on in [mode == "on" for mode in args.logging]:
                figures = timed_rounds(
                    {
                        name: functools.partial(runner, batch_size, args.steps, logging_on, root)
                        for name, runner in runners.items()
                    },
                    args.steps,
                    args.repeats,
                )
                for name in runners:
                    print(
                        json.dumps(
                            {
                                "bench": "trainer_overhead",
                                "framework": name,
                                "batch_size": batch_size,
                                "logger_and_progress_bar": logging_on,
                                **{
                                    timing: round(median_of(figures, name, timing), 4)
                                    for timing in TIMINGS
                                },
                                "steps": args.steps,
                                "repeats": args.repeats,
                                "torch_threads": torch.get_num_threads(),
                                "loadavg": load_average(),
                            }
                        ),
                        flush=True,
                    )
                print(json.dumps(compare(batch_size, logging_on, figures)), flush=True)
        measure_hook_dispatch(args.steps, args.repeats, root)
    measure_dispatch_call_cost()


if __name__ == "__main__":
    main()
