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

# 1.0.8's TrialMNIST downloads the full MNIST files from pl-public-data into its own subset
# folder before taking the subset; nothing can be downloaded here, so those URLs are served
# from the generated dataset (make_mnist.py) next to the tests, in MNIST's processed format
import os  # noqa: E402
import shutil  # noqa: E402
import urllib.request  # noqa: E402

_MNIST_URL = "https://pl-public-data.s3.amazonaws.com/MNIST/processed/"
_urlretrieve = urllib.request.urlretrieve


def _local_mnist(url, filename=None, *args, **kwargs):  # type: ignore[no-untyped-def]
    if isinstance(url, str) and url.startswith(_MNIST_URL) and filename is not None:
        root = os.environ.get("LIGHTNING_SUITE_DATASETS") or os.path.join(os.getcwd(), "Datasets")
        source = os.path.join(root, "MNIST", "complete", url[len(_MNIST_URL) :])
        if os.path.isfile(source):
            shutil.copyfile(source, filename)
            return filename, None
    return _urlretrieve(url, filename, *args, **kwargs)


urllib.request.urlretrieve = _local_mnist
