"""Single images named by a path, an http(s) URL or `skimage:NAME` (a photo in the wheel).

The one home of image opening for the data sets and for part A's test images. Free of torch
and numpy at import: the workflow checks image sources when it loads, and a no-op run must
stay fast.
"""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from .errors import DataError

SKIMAGE_PREFIX = "skimage:"
# The photos scikit-image ships inside its wheel, whose loaders take no argument and never
# download; skimage.data's other public functions fetch data sets from the internet
# (`download_all` fetches them all) or return no picture.
SKIMAGE_PHOTOS = (
    "astronaut", "brick", "camera", "cat", "cell", "chelsea", "checkerboard", "clock", "coffee",
    "coins", "colorwheel", "grass", "gravel", "horse", "hubble_deep_field",
    "immunohistochemistry", "logo", "microaneurysms", "moon", "page", "retina", "rocket",
    "shepp_logan_phantom", "text",
)
OFFLINE_HINT = "use a local copy of the image or a bundled photo such as skimage:astronaut"


def image_name(spec: str) -> str:
    """A short name for the image: the skimage name or the file name without suffix."""
    if spec.startswith(SKIMAGE_PREFIX):
        return spec[len(SKIMAGE_PREFIX):]
    return Path(spec.split("?")[0].rstrip("/")).stem or spec


def skimage_problem(spec: str) -> str | None:
    """What is wrong with a `skimage:NAME`, or None (also for any other kind of source)."""
    name = spec[len(SKIMAGE_PREFIX):]
    if spec.startswith(SKIMAGE_PREFIX) and name not in SKIMAGE_PHOTOS:
        return (f"{spec!r}: scikit-image bundles no photo {name!r}; choose one of "
                f"{', '.join(SKIMAGE_PHOTOS)}")
    return None


def check_image_spec(spec: str) -> None:
    """Reject a `skimage:NAME` that is not a bundled photo before anything runs."""
    problem = skimage_problem(spec)
    if problem:
        raise DataError(problem)


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
    except Image.DecompressionBombError as err:
        raise DataError(f"{spec} is too large for PIL ({err}); use a smaller copy") from err
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as err:
        raise DataError(f"{spec} is not a readable image ({err}); replace it") from err
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


def _skimage_photo(name: str) -> Image.Image:
    check_image_spec(SKIMAGE_PREFIX + name)
    import numpy as np
    from skimage import data

    array = np.asarray(getattr(data, name)())
    if array.dtype == bool:  # silhouettes such as `horse`
        array = array.astype(np.uint8) * 255
    elif array.dtype.kind == "f":  # phantoms in [0, 1]
        array = np.round(np.clip(array, 0, 1) * 255).astype(np.uint8)
    return Image.fromarray(array)
