"""`seed_everything`: one seed for Python, NumPy and torch (CPU and every CUDA device)."""

import os
import random
import warnings

import numpy as np
import torch

_SEED_ENV = "PL_GLOBAL_SEED"  # the name Lightning uses, so spawned processes reuse the seed
_MIN_SEED, _MAX_SEED = 0, 2**32 - 1


def seed_everything(seed: int | None = None) -> int:
    """Seed `random`, `numpy`, `torch` and `torch.cuda`; export the seed as PL_GLOBAL_SEED.

    With `seed=None` the seed comes from PL_GLOBAL_SEED, or is drawn at random (with a warning,
    because the run will not be reproducible). A seed outside uint32 is replaced the same way.
    Returns the seed used.
    """
    if seed is None:
        env_seed = os.environ.get(_SEED_ENV)
        if env_seed is not None and env_seed.lstrip("-").isdigit():
            seed = int(env_seed)
        else:
            seed = random.randint(_MIN_SEED, _MAX_SEED)
            warnings.warn(
                f"No seed given; using {seed}. Pass a seed to reproduce this run.", stacklevel=2
            )
    elif not isinstance(seed, int):
        seed = int(seed)
    if not _MIN_SEED <= seed <= _MAX_SEED:
        new_seed = random.randint(_MIN_SEED, _MAX_SEED)
        warnings.warn(
            f"Seed {seed} is outside [{_MIN_SEED}, {_MAX_SEED}]; using {new_seed}. Pass a uint32 seed.",
            stacklevel=2,
        )
        seed = new_seed
    os.environ[_SEED_ENV] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return seed
