"""Invertible views of an image, the building blocks of visual anagrams (Geng et al., 2024).

A view acts on the last two dimensions (H, W) of a batch. Every view here is a permutation of
the pixels, possibly with a sign change, so it maps Gaussian noise to Gaussian noise (which
is what lets the denoiser see noisy images through it) and `inverse_view(view(x)) == x`
holds bit for bit. Views act in model space: `negate` is a colour inversion for a model whose
pixels lie in [-1, 1] (DeepFloyd IF), a plain sign change for one in [0, 1].
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import torch


class View(ABC):
    name: str

    @abstractmethod
    def view(self, x: torch.Tensor) -> torch.Tensor:
        """The image as this view shows it."""

    @abstractmethod
    def inverse_view(self, x: torch.Tensor) -> torch.Tensor:
        """Undo `view`: inverse_view(view(x)) == x."""

    def inverse_layout(self, x: torch.Tensor) -> torch.Tensor:
        """Move per-pixel statistics (a predicted variance) back without changing their values."""
        return self.inverse_view(x)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class Identity(View):
    name = "identity"

    def view(self, x):
        return x

    def inverse_view(self, x):
        return x


class Flip(View):
    """Upside down (a vertical flip), the view of the exercise's anagrams."""

    name = "flip"

    def view(self, x):
        return torch.flip(x, dims=(-2,))

    def inverse_view(self, x):
        return torch.flip(x, dims=(-2,))


class Rotate(View):
    """Rotation by quarter turns clockwise (square images)."""

    def __init__(self, quarter_turns: int):
        self.quarter_turns = quarter_turns % 4
        self.name = {1: "rotate_cw", 2: "rotate_180", 3: "rotate_ccw"}.get(
            self.quarter_turns, "identity"
        )

    def view(self, x):
        return torch.rot90(x, -self.quarter_turns, dims=(-2, -1))

    def inverse_view(self, x):
        return torch.rot90(x, self.quarter_turns, dims=(-2, -1))


class Negate(View):
    name = "negate"

    def view(self, x):
        return -x

    def inverse_view(self, x):
        return -x

    def inverse_layout(self, x):
        return x


def _move_patches(x: torch.Tensor, order: torch.Tensor, grid: int) -> torch.Tensor:
    """Patch k of the output is patch order[k] of x, patches numbered row by row."""
    *lead, h, w = x.shape
    if h % grid or w % grid:
        raise ValueError(f"a {h}x{w} image does not split into {grid}x{grid} patches")
    ph, pw = h // grid, w // grid
    patches = x.reshape(*lead, grid, ph, grid, pw).movedim(-3, -2)  # [..., gy, gx, ph, pw]
    patches = patches.reshape(*lead, grid * grid, ph, pw)[..., order.to(x.device), :, :]
    return patches.reshape(*lead, grid, grid, ph, pw).movedim(-2, -3).reshape(*lead, h, w)


class PatchPermute(View):
    """A jigsaw of grid x grid square patches shuffled by a fixed, seeded permutation."""

    name = "patch_permute"

    def __init__(self, grid: int = 4, seed: int = 0):
        if grid < 2:
            raise ValueError("a patch permutation needs a grid of at least 2x2")
        self.grid = grid
        self.order = torch.randperm(grid * grid, generator=torch.Generator().manual_seed(seed))
        self.inverse_order = torch.argsort(self.order)

    def view(self, x):
        return _move_patches(x, self.order, self.grid)

    def inverse_view(self, x):
        return _move_patches(x, self.inverse_order, self.grid)


def _roll_columns(x: torch.Tensor, shifts: torch.Tensor) -> torch.Tensor:
    """Roll column j of the image down by shifts[j] pixels, circularly."""
    h, w = x.shape[-2:]
    rows = (torch.arange(h)[:, None] - shifts[None, :]) % h  # out[i, j] = x[rows[i, j], j]
    return torch.gather(x, -2, rows.to(x.device).expand(*x.shape[:-2], h, w))


class Skew(View):
    """A shear on the pixel grid: column j moves down by round(factor * (j - W/2)), wrapping.

    Rolling whole columns circularly keeps every pixel, so the shear is exactly invertible.
    """

    name = "skew"

    def __init__(self, factor: float = 0.5):
        self.factor = factor

    def _shifts(self, width: int) -> torch.Tensor:
        return torch.round(self.factor * (torch.arange(width) - width / 2)).long()

    def view(self, x):
        return _roll_columns(x, self._shifts(x.shape[-1]))

    def inverse_view(self, x):
        return _roll_columns(x, -self._shifts(x.shape[-1]))


VIEWS: dict[str, Callable[..., View]] = {
    "identity": Identity,
    "flip": Flip,
    "rotate_cw": lambda: Rotate(1),
    "rotate_180": lambda: Rotate(2),
    "rotate_ccw": lambda: Rotate(3),
    "negate": Negate,
    "patch_permute": PatchPermute,
    "skew": Skew,
}


def get_view(name: str, **options) -> View:
    """A view by registry name; options go to its constructor (grid, seed, factor)."""
    if name not in VIEWS:
        raise ValueError(f"unknown view {name!r}; choose one of {', '.join(VIEWS)}")
    return VIEWS[name](**options)
