"""scripts/part_a_inputs.py: a URL fetched once into a cached PNG (rule part_a_download), and an
input image prepared from that file or from a local one (rule part_a_input)."""

from __future__ import annotations

import functools
import http.server
import runpy
import threading
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from diffusionlab.part_a import item_params as part_a_params

SCRIPT = runpy.run_path(str(Path(__file__).resolve().parents[1] / "scripts" / "part_a_inputs.py"),
                        run_name="imported")


@pytest.fixture
def served(tmp_path):
    """A folder served over http on localhost: (folder, base URL)."""
    folder = tmp_path / "web"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_a_download_is_cached_as_png_with_the_same_pixels(served, tmp_path):
    folder, base = served
    pixels = np.random.default_rng(0).integers(0, 256, (30, 50, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(folder / "photo.png")
    url = f"{base}/photo.png"
    cached = tmp_path / Path(part_a_params.download_path(url)).name
    SCRIPT["download"](url, str(cached))
    with Image.open(cached) as image:
        assert image.format == "PNG"
        assert np.array_equal(np.asarray(image), pixels)
    assert cached.name.startswith("photo-") and cached.suffix == ".png"


def test_an_input_reads_its_file_before_its_source(tmp_path):
    """A file input (local image or download) is what the job reads; the source string is
    only for the built-in sources."""
    Image.new("L", (40, 40), 255).save(tmp_path / "white.png")
    SCRIPT["prepare"](None, (28, 1), False, str(tmp_path / "a.png"), None,
                      str(tmp_path / "white.png"))
    SCRIPT["prepare"]("drawn:3", (28, 1), True, str(tmp_path / "b.png"))
    white, drawn = (np.asarray(Image.open(tmp_path / n)) for n in ("a.png", "b.png"))
    assert white.shape == drawn.shape == (28, 28)
    assert white.min() == 255 and drawn.min() == 0 < drawn.max()


def test_every_source_kind_maps_to_its_file():
    url = "https://example.org/a/campanile.jpg?size=big"
    assert part_a_params.source_file(url) == part_a_params.download_path(url)
    assert part_a_params.download_path(url).startswith(f"{part_a_params.DOWNLOADS}/campanile-")
    assert part_a_params.download_path(url) != part_a_params.download_path(url + "2")
    assert part_a_params.source_file("photos/cat.png") == "photos/cat.png"
    for source in ("drawn:3", "mnist:0", "skimage:astronaut"):
        assert part_a_params.source_file(source) is None
