"""Sampling the trained models: the one home of the samplers and of timestep spacing.

    timesteps  `spaced_timesteps`: which of the T training steps an S-step sampler visits
               (diffusers' trailing, leading and linspace spacings; part A's stride); no torch
    samplers   `sample`: ancestral DDPM (all T steps), strided DDPM and DDIM (eta), with
               classifier-free guidance (`predict_noise`); `respace`, `ddim_step`

Part A's iterative denoising (`part_a.denoise`) takes the same DDPM step on a backend's own
variance, over timesteps from here. The names below load on first use, so that the workflow
can read `timesteps` without importing torch.
"""

import importlib

_HOMES = {
    "SPACINGS": "timesteps", "spaced_timesteps": "timesteps",
    "METHODS": "samplers", "VARIANCES": "samplers", "ddim_step": "samplers",
    "predict_noise": "samplers", "respace": "samplers", "sample": "samplers",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
