"""Test images from every kind of source, and the part A figures as deterministic PNGs."""

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from diffusionlab.part_a import figures
from diffusionlab.part_a.images import ImageSourceError, fit_square, load_image
from diffusionlab.part_a.views import get_view

CAMPANILE = Path("/work/shared/images/campanile.jpg")


def test_bundled_photos_load_at_any_size_and_channel_count():
    rgb = load_image("skimage:astronaut", 64)
    assert rgb.shape == (1, 3, 64, 64) and 0 <= rgb.min() < rgb.max() <= 1
    grey = load_image("skimage:horse", 28, channels=1)  # a boolean silhouette
    assert grey.shape == (1, 1, 28, 28) and grey.max() == 1.0 and grey.min() == 0.0


@pytest.mark.skipif(not CAMPANILE.is_file(), reason="the shared copy of the test image is absent")
def test_the_campanile_loads_from_its_local_copy():
    image = load_image(str(CAMPANILE), 64)
    assert image.shape == (1, 3, 64, 64)


def test_fit_square_scales_the_short_side_and_crops_the_centre():
    wide = Image.new("L", (40, 20), 0)
    wide.paste(255, (10, 0, 30, 20))  # a white middle half
    out = fit_square(wide, 10)
    assert out.size == (10, 10)
    assert np.asarray(out).min() > 230  # only the white middle is left (edges ring a little)


def test_bad_sources_are_clear_errors(tmp_path):
    with pytest.raises(ImageSourceError, match="no image file"):
        load_image(str(tmp_path / "missing.png"), 64)
    with pytest.raises(ImageSourceError, match="could not download"):
        load_image("http://127.0.0.1:9/campanile.jpg", 64)
    with pytest.raises(ImageSourceError, match="astronaut"):
        load_image("skimage:no_such_photo", 64)
    (tmp_path / "text.png").write_text("not an image")
    with pytest.raises(ImageSourceError, match="not a readable image"):
        load_image(str(tmp_path / "text.png"), 64)


def test_seen_from_afar_shrinks_onto_a_white_canvas():
    image = torch.zeros(1, 8, 8)
    far = figures.seen_from_afar(image, 0.5)
    assert far.shape == (1, 8, 8)
    assert torch.equal(far[:, 2:6, 2:6], torch.zeros(1, 4, 4))
    assert far.sum() == 64 - 16
    assert torch.equal(figures.seen_from_afar(image, 1.0), image)


def draw_every_figure(folder: Path) -> list[Path]:
    folder.mkdir()
    g = torch.Generator().manual_seed(0)
    img = [torch.rand(3, 16, 16, generator=g) for _ in range(4)]
    prompts = ["an oil painting of an old man", "an oil painting of people around a campfire"]
    paths = [folder / f"{name}.png" for name in
             ("sampling", "forward", "denoising", "strip", "samples", "sdedit", "inpainting",
              "anagram", "hybrid")]
    figures.sampling_figure([img[:2], img[2:]], prompts, [5, 20], "stage I", paths[0])
    figures.forward_figure(img[0], img[1:], [250, 500, 750], paths[1])
    figures.denoising_figure([("noisy", img[:3]), ("Gaussian blur", img[1:])],
                             ["t = 250", "t = 500", "t = 750"], paths[2], "1.2 classical")
    figures.strip_figure([(690, img[0]), (540, img[1]), (0, img[2])], paths[3], "iterative")
    figures.samples_figure(torch.stack(img), paths[4], "a high quality photo")
    figures.sdedit_figure([("campanile", img[0], img[1:3])], [1, 3],
                          list(range(990, -1, -30)), paths[5], "SDEdit")
    mask = torch.zeros(1, 16, 16)
    mask[:, 2:8, 4:12] = 1
    figures.inpainting_figure(img[0], mask, img[1], paths[6], "inpainting")
    figures.anagram_figure(img[0], [get_view("identity"), get_view("negate")], prompts, paths[7])
    figures.hybrid_figure(torch.stack(img[:2]), prompts, paths[8])
    return paths


def test_every_figure_is_a_byte_deterministic_png(tmp_path):
    first = draw_every_figure(tmp_path / "a")
    second = draw_every_figure(tmp_path / "b")
    for a, b in zip(first, second, strict=True):
        with Image.open(a) as png:
            assert png.format == "PNG" and png.width > 100
            assert "Software" not in png.info
        assert a.read_bytes() == b.read_bytes(), a.name

