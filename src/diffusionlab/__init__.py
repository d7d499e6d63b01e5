"""diffusionlab: the library behind the "Fun with Diffusion Models" report pipeline."""

__version__ = "0.1.0"
