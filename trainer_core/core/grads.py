"""`GradInformation`: gradient norms of a module's parameters (what `track_grad_norm` logs)."""

from __future__ import annotations

import torch
from torch import nn


class GradInformation(nn.Module):
    def grad_norm(self, norm_type: float | int | str) -> dict[str, float]:
        """The `norm_type`-norm of each parameter's gradient and of all of them together, as
        `grad_{norm}_norm_{name}` and `grad_{norm}_norm_total` (rounded to 3 decimals, as in 1.0).
        Parameters without a gradient are left out."""
        order = float(norm_type)
        norms: dict[str, float] = {}
        each: list[float] = []
        for name, param in self.named_parameters():
            if param.grad is None:
                continue
            value = float(param.grad.detach().norm(order))
            norms[f"grad_{order}_norm_{name}"] = round(value, 3)
            each.append(value)
        total = float(torch.tensor(each).norm(order)) if each else 0.0
        norms[f"grad_{order}_norm_total"] = round(total, 3)
        return norms
