"""Lightning 1.0's profilers: `Trainer(profiler=True | "simple" | "advanced" | a profiler)`."""

from trainer_core.profiler.profilers import (
    AdvancedProfiler,
    BaseProfiler,
    PassThroughProfiler,
    SimpleProfiler,
    make_profiler,
)

__all__ = [
    "AdvancedProfiler",
    "BaseProfiler",
    "PassThroughProfiler",
    "SimpleProfiler",
    "make_profiler",
]
