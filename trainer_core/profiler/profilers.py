"""Profilers time named actions of a run (`with profiler.profile("action"): ...`).

`SimpleProfiler` records wall-clock durations per action; `AdvancedProfiler` runs cProfile per
action; `PassThroughProfiler` (the default) records nothing. The Trainer times each training
epoch and evaluation run and prints `describe()` when fit ends.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from trainer_core.exceptions import MisconfigurationException


class BaseProfiler:
    """`start(action)` / `stop(action)`, and the `profile` / `profile_iterable` helpers."""

    def __init__(self, output_streams: list[TextIO] | TextIO | None = None) -> None:
        if output_streams is None:
            self.output_streams: list[TextIO] = []
        elif isinstance(output_streams, list):
            self.output_streams = list(output_streams)
        else:
            self.output_streams = [output_streams]

    def start(self, action_name: str) -> None:
        raise NotImplementedError

    def stop(self, action_name: str) -> None:
        raise NotImplementedError

    def summary(self) -> str:
        raise NotImplementedError

    @contextmanager
    def profile(self, action_name: str) -> Iterator[None]:
        """Time the body of the `with` block under `action_name`."""
        try:
            self.start(action_name)
            yield
        finally:
            self.stop(action_name)

    def profile_iterable(self, iterable: Iterable[Any], action_name: str) -> Iterator[Any]:
        """Time each `next()` of `iterable` (the last one is the StopIteration)."""
        iterator = iter(iterable)
        while True:
            try:
                self.start(action_name)
                value = next(iterator)
                self.stop(action_name)
                yield value
            except StopIteration:
                self.stop(action_name)
                break

    def describe(self) -> None:
        """Write the summary to every output stream, or print it when there is none."""
        text = self.summary()
        if not text:
            return
        if not self.output_streams:
            print(text)
        for stream in self.output_streams:
            stream.write(text)
            stream.flush()


class PassThroughProfiler(BaseProfiler):
    """Records nothing (the Trainer's default)."""

    def start(self, action_name: str) -> None:
        pass

    def stop(self, action_name: str) -> None:
        pass

    def summary(self) -> str:
        return ""


class _FileOutput:
    """A profiler's `output_filename`: the summary goes there instead of stdout."""

    def __init__(self, output_filename: str | None) -> None:
        self.output_filename = output_filename

    def streams(self) -> list[TextIO]:
        if self.output_filename is None:
            return []
        folder = os.path.dirname(self.output_filename)
        if folder:
            os.makedirs(folder, exist_ok=True)
        return [open(self.output_filename, "w")]


class SimpleProfiler(BaseProfiler):
    """Wall-clock duration of every call of every action; `summary()` is a table of means."""

    def __init__(self, output_filename: str | None = None) -> None:
        super().__init__()
        self.output_filename = output_filename
        self.output_fname = output_filename  # Lightning 1.0's name for it
        self.current_actions: dict[str, float] = {}
        self.start_time = time.monotonic()
        self.recorded_durations: dict[str, list[float]] = defaultdict(list)

    def start(self, action_name: str) -> None:
        if action_name in self.current_actions:
            raise ValueError(f"Attempted to start {action_name} which has already started.")
        self.current_actions[action_name] = time.monotonic()

    def stop(self, action_name: str) -> None:
        end = time.monotonic()
        if action_name not in self.current_actions:
            raise ValueError(
                f"Attempting to stop recording an action ({action_name}) which was never started."
            )
        self.recorded_durations[action_name].append(end - self.current_actions.pop(action_name))

    def summary(self) -> str:
        total = time.monotonic() - self.start_time
        lines = [
            "",
            "Profiler Report",
            "",
            f"{'Action':<40}|  {'Mean duration (s)':<20}|  {'Num calls':<10}|  "
            f"{'Total time (s)':<15}|  {'Percentage %':<15}|",
            "-" * 112,
            f"{'Total':<40}|  {'-':<20}|  {'-':<10}|  {total:<15.5}|  {100.0:<15.5}|",
            "-" * 112,
        ]
        for action, durations in self.recorded_durations.items():
            spent = sum(durations)
            share = 100.0 * spent / total if total > 0 else 0.0
            lines.append(
                f"{action:<40}|  {spent / len(durations):<20.5}|  {len(durations):<10}|  "
                f"{spent:<15.5}|  {share:<15.5}|"
            )
        return "\n".join(lines) + "\n"

    def describe(self) -> None:
        self.output_streams = _FileOutput(self.output_filename).streams()
        try:
            super().describe()
        finally:
            for stream in self.output_streams:
                stream.close()
            self.output_streams = []


class AdvancedProfiler(BaseProfiler):
    """cProfile per action; `summary()` holds each action's pstats report, sorted by cumulative
    time and cut to `line_count_restriction` (a count, or a fraction of the lines)."""

    def __init__(
        self, output_filename: str | None = None, line_count_restriction: float = 1.0
    ) -> None:
        super().__init__()
        self.output_filename = output_filename
        self.output_fname = output_filename  # Lightning 1.0's name for it
        self.line_count_restriction = line_count_restriction
        self.profiled_actions: dict[str, cProfile.Profile] = {}

    def start(self, action_name: str) -> None:
        if action_name not in self.profiled_actions:
            self.profiled_actions[action_name] = cProfile.Profile()
        self.profiled_actions[action_name].enable()

    def stop(self, action_name: str) -> None:
        profile = self.profiled_actions.get(action_name)
        if profile is None:
            raise ValueError(
                f"Attempting to stop recording an action ({action_name}) which was never started."
            )
        profile.disable()

    def summary(self) -> str:
        reports = []
        for action, profile in self.profiled_actions.items():
            text = io.StringIO()
            stats = pstats.Stats(profile, stream=text).strip_dirs().sort_stats("cumulative")
            stats.print_stats(self.line_count_restriction)
            reports.append(f"Profile stats for: {action}\n{text.getvalue()}")
        return "\n".join(reports)

    def describe(self) -> None:
        self.output_streams = _FileOutput(self.output_filename).streams()
        try:
            super().describe()
        finally:
            for stream in self.output_streams:
                stream.close()
            self.output_streams = []


def make_profiler(profiler: Any) -> BaseProfiler:
    """The Trainer's `profiler` flag as a profiler object."""
    if isinstance(profiler, BaseProfiler):
        return profiler
    if profiler is None:
        return PassThroughProfiler()
    if isinstance(profiler, bool):
        warnings.warn(
            f"Trainer(profiler={profiler}): a bool profiler is deprecated since Lightning 1.0 and will be "
            "removed in v1.3; pass profiler='simple' (or 'advanced', or leave it out) instead.",
            DeprecationWarning,
            stacklevel=4,
        )
        return SimpleProfiler() if profiler else PassThroughProfiler()
    if isinstance(profiler, str):
        kinds: dict[str, type[BaseProfiler]] = {
            "simple": SimpleProfiler,
            "advanced": AdvancedProfiler,
        }
        if profiler.lower() not in kinds:
            raise ValueError(
                f"Trainer(profiler={profiler!r}): when passing a string value for the `profiler` "
                "parameter of `Trainer`, it can only be 'simple' or 'advanced'."
            )
        return kinds[profiler.lower()]()
    raise MisconfigurationException(
        "Only None, bool, str and subclasses of `BaseProfiler` are valid values for `Trainer`'s "
        f"`profiler` parameter. Received {profiler!r} of type {type(profiler).__name__}."
    )
