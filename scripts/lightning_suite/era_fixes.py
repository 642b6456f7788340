"""Era fixes that let Lightning 1.0.8's test suite run on today's numpy and torch.

Imported at interpreter start (a .pth file in each side's venv), so spawned ranks and
re-executed scripts get them too. Applied to both sides alike: the real pytorch-lightning
1.0.8 and trainer_core behind the name shim.
"""

import numpy as np
import torch.optim.lr_scheduler as lr_scheduler

# numpy 2 removed these aliases; 1.0.8's code and tests still use them
_NUMPY_ALIASES = {
    "Inf": np.inf,
    "Infinity": np.inf,
    "PINF": np.inf,
    "NINF": -np.inf,
    "NaN": np.nan,
    "float": float,
    "int": int,
    "bool": bool,
    "object": object,
    "long": int,
    "complex": complex,
    "str": str,
    "float_": np.float64,
    "complex_": np.complex128,
}
for _name, _value in _NUMPY_ALIASES.items():
    if _name not in np.__dict__:
        setattr(np, _name, _value)

# torch 2 made LRScheduler the base class; 1.0.8 checks isinstance(x, _LRScheduler)
lr_scheduler._LRScheduler = lr_scheduler.LRScheduler  # type: ignore[attr-defined,misc]
