"""Per-step overhead of trainer_core against a plain PyTorch loop and pytorch-lightning 2.x.

Trains the same small MLP (64 -> 256 -> 256 -> 10, SGD, cross-entropy, synthetic data on
CPU, one thread) with batch 32 and 256, first with logger and progress bar off, then on
(TensorBoard every 50 steps and a progress bar; the plain loop gets a SummaryWriter and a
tqdm bar). The module calls `self.log("train_loss", loss)` every step in both frameworks.
Time per step is measured from train start to train end (setup excluded), best of
--repeats runs (interleaved across frameworks). Prints one JSON line per measurement and one per comparison; asserts nothing.
Hook dispatch is measured on its own twice: `hook_dispatch` (the per-step cost of 8 no-op
callbacks' batch hooks inside a real fit) and `hook_dispatch_call` (ns per hook call through
the Trainer's dispatcher, through the batch loop's pre-resolved method lists, and as a direct
method call, with no training around it).

    python bench/trainer_overhead.py [--steps 600] [--repeats 3] [--dispatch-only]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import tempfile
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import trainer_core

IN, HIDDEN, OUT = 64, 256, 10
LOG_EVERY = 50


def make_net() -> nn.Module:
    return nn.Sequential(
        nn.Linear(IN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, OUT),
    )


def make_loader(batch_size: int, steps: int) -> DataLoader:
    generator = torch.Generator().manual_seed(0)
    n = batch_size * steps
    x = torch.randn(n, IN, generator=generator)
    y = torch.randint(0, OUT, (n,), generator=generator)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False)


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


def run_plain(batch_size: int, steps: int, logging_on: bool, root: str) -> float:
    torch.manual_seed(0)
    net = make_net()
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01)
    loader = make_loader(batch_size, steps)
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
    batch_size: int, steps: int, logging_on: bool, root: str, extra: Any = ()
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
        trainer.fit(model, make_loader(batch_size, steps))
    return timer.seconds


def measure_hook_dispatch(steps: int, repeats: int, root: str, callbacks: int = 8) -> None:
    """Per-step cost of calling the per-batch hooks of `callbacks` no-op callbacks (4 hooks
    each), against the same run without them: the hook dispatcher's own cost."""
    base = hooked = float("inf")
    extra = [NoOpBatchHooks() for _ in range(callbacks)]
    for _ in range(repeats):
        base = min(base, run_trainer_core(32, steps, False, root))
        hooked = min(hooked, run_trainer_core(32, steps, False, root, extra))
    calls = 4 * callbacks
    print(
        json.dumps(
            {
                "bench": "hook_dispatch",
                "batch_size": 32,
                "noop_callbacks": callbacks,
                "hook_calls_per_step": calls,
                "extra_us_per_step": round((hooked - base) / steps * 1e6, 2),
                "us_per_hook_call": round((hooked - base) / steps / calls * 1e6, 3),
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

    best: dict[str, float] = {}
    for _ in range(5):  # interleaved, best of five
        for name, fn in (("dispatcher", dispatcher), ("loop_path", loop_path), ("direct", direct)):
            start = time.perf_counter_ns()
            fn()
            elapsed = (time.perf_counter_ns() - start) / (rounds * per_round)
            best[name] = min(best.get(name, float("inf")), elapsed)
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
            }
        ),
        flush=True,
    )


def run_pytorch_lightning(batch_size: int, steps: int, logging_on: bool, root: str) -> float:
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
        trainer.fit(model, make_loader(batch_size, steps))
    return timer.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 256])
    parser.add_argument(
        "--dispatch-only", action="store_true", help="only the hook-dispatch measurements"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.dispatch_only:
        with tempfile.TemporaryDirectory() as root:
            measure_hook_dispatch(args.steps, args.repeats, root)
        measure_dispatch_call_cost()
        return

    runners: dict[str, Callable[..., float]] = {
        "plain": run_plain,
        "trainer_core": run_trainer_core,
    }
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
            runner(32, 20, True, root)
        for batch_size in args.batch_sizes:
            for logging_on in (False, True):
                # interleave the frameworks run by run, so load drift on a shared machine hits
                # them alike; keep each one's best run
                seconds: dict[str, float] = dict.fromkeys(runners, float("inf"))
                for _ in range(args.repeats):
                    for name, runner in runners.items():
                        seconds[name] = min(
                            seconds[name], runner(batch_size, args.steps, logging_on, root)
                        )
                per_step = {name: s / args.steps * 1000 for name, s in seconds.items()}
                for name in runners:
                    print(
                        json.dumps(
                            {
                                "bench": "trainer_overhead",
                                "framework": name,
                                "batch_size": batch_size,
                                "logger_and_progress_bar": logging_on,
                                "ms_per_step": round(per_step[name], 4),
                                "steps": args.steps,
                                "repeats": args.repeats,
                                "torch_threads": torch.get_num_threads(),
                            }
                        ),
                        flush=True,
                    )
                comparison: dict[str, Any] = {
                    "bench": "trainer_overhead_ratio",
                    "batch_size": batch_size,
                    "logger_and_progress_bar": logging_on,
                    "trainer_core_over_plain": round(
                        per_step["trainer_core"] / per_step["plain"], 4
                    ),
                    "trainer_core_overhead_ms_per_step": round(
                        per_step["trainer_core"] - per_step["plain"], 4
                    ),
                }
                if "pytorch_lightning" in per_step:
                    comparison["pytorch_lightning_over_plain"] = round(
                        per_step["pytorch_lightning"] / per_step["plain"], 4
                    )
                    comparison["pytorch_lightning_overhead_ms_per_step"] = round(
                        per_step["pytorch_lightning"] - per_step["plain"], 4
                    )
                print(json.dumps(comparison), flush=True)
        measure_hook_dispatch(args.steps, args.repeats, root)
    measure_dispatch_call_cost()


if __name__ == "__main__":
    main()
