"""Apply a network to a large tensor in batches, on the network's device (inference only)."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def device_of(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def apply_batched(
    fn: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    device: torch.device | str,
    batch_size: int = 1000,
) -> torch.Tensor:
    """fn(x) computed `batch_size` rows at a time on `device`, gathered as float32 on the CPU."""
    if len(x) == 0:
        raise ValueError("no inputs to evaluate")
    return torch.cat(
        [fn(x[i : i + batch_size].to(device)).float().cpu() for i in range(0, len(x), batch_size)]
    )
