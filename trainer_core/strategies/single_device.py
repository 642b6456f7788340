"""`SingleDeviceStrategy`: one process, one device (the CPU or one CUDA GPU)."""

import torch

from trainer_core.precision import PrecisionPlugin
from trainer_core.strategies.base import Strategy


class SingleDeviceStrategy(Strategy):
    """Runs everything in this process on `device`."""

    def __init__(
        self, device: torch.device | str = "cpu", precision_plugin: PrecisionPlugin | None = None
    ) -> None:
        super().__init__(precision_plugin)
        self._device = torch.device(device)

    @property
    def root_device(self) -> torch.device:
        return self._device

    def setup_environment(self) -> None:
        if self._device.type == "cuda":
            torch.cuda.set_device(self._device)
