"""Timesteps of the exercise on models with any number of training steps T (no torch needed).

The exercise writes its numbers for T = 1000 (DeepFloyd IF); a model with another T scales them
proportionally:

- a timestep t becomes floor(t * T / 1000 + 1/2): 250, 500, 750 -> 75, 150, 225 for T = 300;
- a stride s becomes max(1, floor(s * T / 1000 + 1/2)), and the strided timesteps are the
  multiples of that stride from the largest one below T down to 0: stride 30 gives
  990, 960, ..., 0 for T = 1000 and 297, 288, ..., 0 (stride 9) for T = 300. Both lists have
  34 entries, so the exercise's indices i_start mean the same noise level on both models.
"""

from __future__ import annotations

import math

from ..sampling.timesteps import spaced_timesteps

REFERENCE_NUM_STEPS = 1000


def scale_timestep(t: int, num_steps: int, reference: int = REFERENCE_NUM_STEPS) -> int:
    """A timestep of the reference scale (T = 1000) on a model with num_steps steps."""
    if not 0 <= t < reference:
        raise ValueError(f"timestep {t} lies outside 0..{reference - 1}")
    return min(num_steps - 1, math.floor(t * num_steps / reference + 0.5))


def strided_timesteps(
    num_steps: int, stride: int = 30, reference: int = REFERENCE_NUM_STEPS
) -> list[int]:
    """Decreasing timesteps k * s, k = floor((T-1)/s) .. 0, with s the stride scaled to T: the
    leading spacing of that stride."""
    if stride < 1:
        raise ValueError("the stride must be at least 1")
    step = max(1, math.floor(stride * num_steps / reference + 0.5))
    return spaced_timesteps(num_steps, spacing="leading", stride=step)
