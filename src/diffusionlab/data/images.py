"""Single images named by a path, an http(s) URL or `skimage:NAME` (a photo in the wheel)."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .dataset import DataError

SKIMAGE_PREFIX = "skimage:"
# The 2-d photos scikit-image ships inside its wheel. Its other loaders download (some every
# data set at once, `download_all`), so only these names are accepted.
SKIMAGE_PHOTOS = (
    "astronaut", "brick", "camera", "cell", "chelsea", "clock", "coffee", "coins", "colorwheel",
    "grass", "gravel", "horse", "hubble_deep_field", "immunohistochemistry", "logo",
    "microaneurysms", "moon", "page", "retina", "rocket", "shepp_logan_phantom", "text",
)
OFFLINE_HINT = "use a local copy of the image or a bundled photo such as skimage:astronaut"


def image_name(spec: str) -> str:
    """A short name for the image: the skimage name or the file name without suffix."""
    if spec.startswith(SKIMAGE_PREFIX):
        return spec[len(SKIMAGE_PREFIX):]
    return Path(spec.split("?")[0].rstrip("/")).stem or spec


def open_image(spec: str, timeout: float = 30.0) -> Image.Image:
    """The PIL image behind a path, an http(s) URL or `skimage:NAME`, fully read."""
    if spec.startswith(SKIMAGE_PREFIX):
        return _skimage_photo(spec[len(SKIMAGE_PREFIX):])
    if spec.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(spec, timeout=timeout) as response:
                source = io.BytesIO(response.read())
        except (urllib.error.URLError, OSError) as err:
            raise DataError(f"could not download {spec} ({err}); {OFFLINE_HINT}") from err
    else:
        source = Path(spec)
        if not source.is_file():
            raise DataError(f"no image file at {source.resolve()}; fix the path or "
                            f"{OFFLINE_HINT}")
    try:
        image = Image.open(source)
        image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as err:
        raise DataError(f"{spec} is not a readable image ({err}); replace it") from err
    return image


def check_image_spec(spec: str) -> None:
    """Reject a `skimage:NAME` that is not a bundled photo before anything runs."""
    name = spec[len(SKIMAGE_PREFIX):]
    if spec.startswith(SKIMAGE_PREFIX) and name not in SKIMAGE_PHOTOS:
        raise DataError(f"{spec} is not one of the photos scikit-image bundles; use one of "
                        f"{', '.join(SKIMAGE_PHOTOS)}")


def _skimage_photo(name: str) -> Image.Image:
    check_image_spec(SKIMAGE_PREFIX + name)
    from skimage import data

    array = np.asarray(getattr(data, name)())
    if array.dtype == bool:  # silhouettes such as `horse`
        array = array.astype(np.uint8) * 255
    elif array.dtype.kind == "f":  # phantoms in [0, 1]
        array = np.round(np.clip(array, 0, 1) * 255).astype(np.uint8)
    return Image.fromarray(array)
