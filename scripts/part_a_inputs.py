"""Rules part_a_download and part_a_input: an image fetched from its URL once (cached as PNG for
every job that reads it), and one input image of part A at the size and channels of its
backend."""

import json

from diffusionlab.jobrunner import run_job
from diffusionlab.part_a.images import open_image
from diffusionlab.part_a.items import resolve_input, save_input

# Modes a PNG file holds as they are; others (CMYK, YCbCr, ...) are stored as RGB.
PNG_MODES = ("1", "L", "LA", "I", "I;16", "P", "RGB", "RGBA")


def download(url: str, out: str) -> None:
    image = open_image(url)
    (image if image.mode in PNG_MODES else image.convert("RGB")).save(out, format="PNG")
    print(f"{url}: {image.width}x{image.height} {image.mode}")


def prepare(source: str | None, shape: tuple[int, int] | None, dark_background: bool, out: str,
            data: str | None = None, image: str | None = None, meta: str | None = None) -> None:
    """The input image from its file (`image`: a local path or a download) or, when it reads
    none, from its source string (drawn:D, mnist:N or test:N with the prepared `data`,
    skimage:NAME). Without a `shape` (size, channels), that of the data set's `meta`."""
    if shape is None:
        with open(meta) as f:
            channels, size, _ = json.load(f)["image_shape"]
    else:
        size, channels = shape
    tensor = resolve_input(image or source, size, channels, data, dark_background)
    save_input(tensor, out)


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    if sm.params.job == "download":
        run_job(download, sm.log[0], sm.params.url, sm.output.image)
    else:
        run_job(prepare, sm.log[0], sm.params.source, sm.params.shape, sm.params.dark_background,
                sm.output.image, sm.input.get("data"), sm.input.get("image"),
                sm.input.get("meta"))
