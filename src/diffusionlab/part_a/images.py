"""Test images for part A: local files, web addresses, or photos bundled with scikit-image.

A source is one of
- a path to an image file;
- an http(s) URL, fetched with urllib (a clear error when it cannot be reached);
- `skimage:NAME`, a photo shipped inside the scikit-image wheel (SKIMAGE_IMAGES:
  `skimage:astronaut`, `skimage:rocket`, `skimage:chelsea`, `skimage:coffee`, `skimage:horse`,
  ...), always offline.
Part A's jobs also read `drawn:D` (digit D drawn with pen strokes) and `mnist:N` (test digit N);
`source_problem` checks any source string before a job runs.

Images are scaled so the shorter side fits, centre-cropped to a square and returned as
[1, C, size, size] float tensors in [0, 1].
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING

from PIL import Image, UnidentifiedImageError

from ..jobs import UserError

if TYPE_CHECKING:
    import torch

# numpy and torch are imported where they are used: the workflow checks every source with
# source_problem when it loads, and a no-op run must stay fast.

# The exercise's test image as published with the course's project page; a local copy can
# be given as a path instead.
CAMPANILE_URL = "https://inst.eecs.berkeley.edu/~cs180/fa24/hw/proj5/assets/campanile.jpg"
SKIMAGE_PREFIX, DRAWN_PREFIX, MNIST_PREFIX = "skimage:", "drawn:", "mnist:"
# The photos stored inside the scikit-image wheel, whose loaders take no argument and never
# download; skimage.data's other public functions fetch data sets from the internet
# (`download_all` fetches them all) or return no picture.
SKIMAGE_IMAGES = (
    "astronaut", "brick", "camera", "cat", "chelsea", "checkerboard", "clock", "coffee", "coins",
    "colorwheel", "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry",
    "logo", "microaneurysms", "moon", "page", "retina", "rocket", "text",
)


class ImageSourceError(UserError):
    """A test image could not be read; the message names the source and what to do."""


def source_problem(source: str) -> str | None:
    """What is wrong with an image source of the config, or None; reads no file.

    `mnist:N` is checked for its form only: the test split's size is the caller's to check.
    """
    kind, _, value = source.partition(":")
    if source.startswith(DRAWN_PREFIX) and not (len(value) == 1 and value.isdigit()):
        return f"{source!r}: drawn: takes one digit 0-9 (drawn:4)"
    if source.startswith(MNIST_PREFIX) and not value.isdigit():
        return f"{source!r}: mnist: takes the index of a test digit (mnist:0)"
    if source.startswith(SKIMAGE_PREFIX) and value not in SKIMAGE_IMAGES:
        return (f"{source!r}: scikit-image bundles no image {value!r}; choose one of "
                f"{', '.join(SKIMAGE_IMAGES)}")
    if kind in ("drawn", "mnist", "skimage", "http", "https"):
        return None
    if not Path(source).is_file():
        return (f"no image file at {Path(source).resolve()}: give an existing file, an http(s) "
                "URL, skimage:NAME, drawn:D or mnist:N")
    return None


def _from_skimage(name: str) -> Image.Image:
    import numpy as np
    from skimage import data

    if name not in SKIMAGE_IMAGES:
        raise ImageSourceError(source_problem(SKIMAGE_PREFIX + name))
    array = np.asarray(getattr(data, name)())
    if array.dtype == bool:  # silhouettes such as `horse`
        array = array.astype(np.uint8) * 255
    return Image.fromarray(array)


def _download(url: str, timeout: float) -> bytes:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.read()
    except (urllib.error.URLError, OSError) as err:
        raise ImageSourceError(
            f"could not download {url} ({err}). Without internet, point the config at a local "
            "copy of the image or use a bundled photo such as skimage:astronaut."
        ) from err


def open_image(source: str, timeout: float = 30.0) -> Image.Image:
    """The PIL image behind a source string (see the module docstring)."""
    if source.startswith(SKIMAGE_PREFIX):
        return _from_skimage(source[len(SKIMAGE_PREFIX):])
    if source.startswith(("http://", "https://")):
        data = io.BytesIO(_download(source, timeout))
    else:
        data = Path(source)
        if not data.is_file():
            raise ImageSourceError(f"no image file at {data.resolve()}; fix the path, or use a "
                                   "bundled photo such as skimage:astronaut")
    try:
        image = Image.open(data)
        image.load()
    except Image.DecompressionBombError as err:
        raise ImageSourceError(
            f"{source} is too large for PIL ({err}); use a smaller copy of the image") from err
    except (UnidentifiedImageError, OSError) as err:
        raise ImageSourceError(f"{source} is not a readable image ({err})") from err
    return image


def fit_square(image: Image.Image, size: int) -> Image.Image:
    """Scale so the shorter side is `size`, then crop the centre square."""
    w, h = image.size
    scale = size / min(w, h)
    image = image.resize((max(size, round(w * scale)), max(size, round(h * scale))),
                         Image.Resampling.LANCZOS)
    w, h = image.size
    left, top = (w - size) // 2, (h - size) // 2
    return image.crop((left, top, left + size, top + size))


def to_tensor(image: Image.Image) -> torch.Tensor:
    """PIL image -> [1, C, H, W] float in [0, 1]."""
    import numpy as np
    import torch

    array = np.asarray(image, dtype=np.float32) / 255.0
    if array.ndim == 2:
        array = array[..., None]
    return torch.from_numpy(array.copy()).permute(2, 0, 1).unsqueeze(0)


def load_image(source: str, size: int, channels: int = 3) -> torch.Tensor:
    """[1, channels, size, size] in [0, 1] from any source; channels 3 (RGB) or 1 (grey)."""
    if channels not in (1, 3):
        raise ValueError("channels must be 1 or 3")
    image = open_image(source).convert("RGB" if channels == 3 else "L")
    return to_tensor(fit_square(image, size))
