"""Which training timesteps a sampler visits (no torch needed: the workflow checks them too).

One function, `spaced_timesteps`, with diffusers' `timestep_spacing` choices; S steps of a model
trained with T:

- "trailing": round(T - i T/S) - 1 for i = 0..S-1, so T-1 first (the noisiest step, the one
  that matches pure noise best); the default of the strided samplers.
- "leading": the multiples k r of a stride r, k = S-1..0, with r = T // S; or, given the stride
  r itself, every multiple of r below T (part A's strided timesteps: stride 30 on T = 1000 is
  990, 960, ..., 0).
- "linspace": S evenly spaced timesteps from T-1 down to 0, rounded half to even as numpy
  rounds `np.linspace(0, T-1, S)` (the numbers of diffusers' schedulers).

With S = T the trailing and leading spacings both give T-1, ..., 0: every training step.
"""

from __future__ import annotations

SPACINGS = ("trailing", "leading", "linspace")


def spaced_timesteps(
    num_train_steps: int,
    num_steps: int | None = None,
    spacing: str = "trailing",
    *,
    stride: int | None = None,
) -> list[int]:
    """The timesteps of an S-step sampler (S = num_steps), in sampling (descending) order.

    `stride` replaces num_steps for the "leading" spacing: every multiple of it below T.
    """
    T = num_train_steps
    if spacing not in SPACINGS:
        raise ValueError(f"spacing must be one of {SPACINGS}, not {spacing!r}")
    if stride is not None:
        if spacing != "leading" or num_steps is not None:
            raise ValueError("a stride takes the place of num_steps, for the leading spacing")
        if stride < 1:
            raise ValueError(f"the stride must be at least 1, not {stride}")
        return list(range((T - 1) // stride * stride, -1, -stride))
    if num_steps is None or not 1 <= num_steps <= T:
        raise ValueError(f"num_steps must lie in 1..{T}, not {num_steps}")
    S = num_steps
    if spacing == "trailing":
        ratio = T / S
        return [round(T - i * ratio) - 1 for i in range(S)]
    if spacing == "leading":
        ratio = T // S
        return [i * ratio for i in range(S - 1, -1, -1)]
    if S == 1:
        return [0]  # np.linspace(0, T-1, 1) is its start
    step = (T - 1) / (S - 1)  # numpy's linspace: i * step from 0, the last point T-1 exactly
    return [T - 1 if i == S - 1 else round(i * step) for i in range(S - 1, -1, -1)]
