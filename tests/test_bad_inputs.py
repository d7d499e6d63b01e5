"""Bad inputs, as a user makes them: each gives one line that names the key or the file, and
leaves no output behind.

Config mistakes are caught when the workflow loads, before any job runs: the table runs the
checks the Snakefile runs (schema, check_config, part A's check) on an overlay of the tiny
preset, and a few go through Snakemake's command line to show what reaches the screen. File
mistakes only the file shows are caught by the job that reads it.
"""

from __future__ import annotations

import copy
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image
from workflow_runs import CI_PRESET, ROOT, snakemake

from diffusionlab.config import ConfigError, validate
from diffusionlab.part_a import item_params as part_a_params
from diffusionlab.rule_params import check_config

SCHEMA = ROOT / "schemas" / "config.schema.yaml"


def merge(base: dict, overlay: dict) -> dict:
    """base with overlay's keys replaced, nested mappings merged (as Snakemake's --configfile)."""
    out = copy.deepcopy(base)
    for key, value in overlay.items():
        out[key] = merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


BASE = merge(yaml.safe_load((ROOT / "config.yaml").read_text()),
             yaml.safe_load(CI_PRESET.read_text()))


def check(config: dict) -> None:
    """What the workflow checks when it loads (Snakefile, rules/part_a.smk)."""
    validate(config, SCHEMA)
    check_config(config)
    part_a_params.check(config)


def mnist_images(**changes) -> dict:
    """An overlay of part_a.mnist.images: the tiny preset's images with `changes`."""
    return {"part_a": {"mnist": {"images": {**BASE["part_a"]["mnist"]["images"], **changes}}}}


def box(*box) -> dict:
    return {"part_a": {"mnist": {"inpainting": [{"image": "test", "box": list(box)}]}}}


# (overlay on config.yaml + presets/ci.yaml, the key the message must name)
CONFIG_CASES = [
    # the schema
    ({"seed": -1}, "seed"),
    ({"device": "gpu"}, "device"),
    ({"performance": {"precision": "fp16"}}, "performance.precision"),
    ({"data": {"source": "internet"}}, "data.source"),
    ({"data": {"train_size": 1}}, "data.train_size"),
    ({"data": {"embedded_test_size": 15}}, "data.embedded_test_size"),
    ({"part_b": {"denoiser": {"sigma": -0.5}}}, "part_b.denoiser.sigma"),
    ({"part_b": {"denoiser": {"hiden": 3}}}, "'hiden'"),
    ({"part_b": {"time": {"epochs": 0}}}, "part_b.time.epochs"),
    ({"part_b": {"time": {"lr_decay_total": 2}}}, "part_b.time.lr_decay_total"),
    ({"part_b": {"class": {"lr": "fast"}}}, "part_b.class.lr"),
    ({"part_b": {"schedule": {"variance": "big"}}}, "part_b.schedule.variance"),
    ({"evaluation": {"spacing": "middle"}}, "evaluation.spacing"),
    ({"evaluation": {"guidance": {"digits": [10]}}}, "evaluation.guidance.digits[0]"),
    ({"evaluation": {"classifier": {"channels": [4]}}}, "evaluation.classifier.channels"),
    ({"part_a": {"backends": ["stable_diffusion"]}}, "part_a.backends[0]"),
    ({"part_a": {"mnist": {"guidance": -1}}}, "part_a.mnist.guidance"),
    ({"part_a": {"mnist": {"blur": {"kernel_size": 4, "sigma": 1.0}}}},
     "part_a.mnist.blur.kernel_size"),
    ({"part_a": {"mnist": {"giudance": 5.0}}}, "'giudance'"),
    (mnist_images(**{"my digit": "drawn:4"}), "part_a.mnist.images"),
    (box(0.0, 0.0, 0.5, 1.5), "part_a.mnist.inpainting[0].box[3]"),
    # check_config: across keys, and what the config alone shows of the inputs
    (box(0.6, 0.0, 0.5, 1.0), "part_a.mnist.inpainting[0].box"),
    (box(0.0, 0.5, 1.0, 0.5), "part_a.mnist.inpainting[0].box"),
    (mnist_images(drawn_4="drawn:x"), "part_a.mnist.images.drawn_4"),
    (mnist_images(drawn_4="drawn:12"), "part_a.mnist.images.drawn_4"),
    (mnist_images(test="mnist:first"), "part_a.mnist.images.test"),
    (mnist_images(test="mnist:200"), "part_a.mnist.images.test"),  # the test split: 0 to 199
    (mnist_images(horse="skimage:download_all"), "part_a.mnist.images.horse"),
    (mnist_images(horse="skimage:lbp_frontal_face_cascade_filename"),
     "part_a.mnist.images.horse"),
    (mnist_images(horse="my_horse.png"), "my_horse.png"),
    ({"data": {"test_size": 5}}, "data.test_size"),
    ({"data": {"source": "embedded", "test_size": None, "embedded_test_size": 40}},
     "data.embedded_test_size"),
    ({"data": {"train_size": None, "embedded_test_size": 5000}}, "data.embedded_test_size"),
    ({"data": {"train_size": 4500}}, "data.train_size"),  # 4,000 left beside 1,000 test digits
    ({"data": {"test_size": 60}}, "evaluation.denoising.digits"),  # 100 of 60
    ({"evaluation": {"sdedit": {"digits": 201}}}, "evaluation.sdedit.digits"),
    ({"evaluation": {"denoising": {"digits": 500}}}, "evaluation.denoising.digits"),
    ({"part_b": {"noising": {"digits": 300}}}, "part_b.noising.digits"),
    ({"part_b": {"denoiser": {"figure_digits": 300}}}, "part_b.denoiser.figure_digits"),
    ({"evaluation": {"checkpoints": {"num_samples": 5}}}, "evaluation.checkpoints.num_samples"),
    ({"evaluation": {"sampler_steps": {"num_samples": 10}}},
     "evaluation.sampler_steps.num_samples"),
    ({"evaluation": {"sampler_steps": {"num_samples": 2000}}},
     "evaluation.sampler_steps.num_samples"),  # its floor: 2,000 of 1,000 training digits
    ({"evaluation": {"targets": {"samples_per_digit": 150}}},
     "evaluation.targets.samples_per_digit"),  # 1,500 samples, a floor of as many digits
    ({"part_b": {"class": {"sample_epochs": [1, 5]}}}, "part_b.class.sample_epochs"),
    ({"part_b": {"schedule": {"beta_start": 0.5, "beta_end": 0.1}}},
     "part_b.schedule.beta_start"),
    # part A's check
    ({"part_a": {"mnist": {"test_image": "nowhere"}}}, "part_a.mnist.images"),
    ({"part_a": {"i_starts": [40]}}, "part_a.i_starts"),
]


@pytest.mark.parametrize(("overlay", "key"), CONFIG_CASES,
                         ids=[f"{k}-{i}" for i, (_, k) in enumerate(CONFIG_CASES)])
def test_config_mistake_names_its_key(overlay, key, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative image paths are read from the working directory
    with pytest.raises(ConfigError) as caught:
        check(merge(BASE, overlay))
    message = str(caught.value)
    assert key in message
    assert "\n" not in message
    # A failing branch of part A's backend schema left every valid key "unexpected".
    assert "were unexpected" not in message or key.startswith("'")
    assert list(tmp_path.iterdir()) == []


def test_the_base_of_the_table_is_valid(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check(BASE)


def test_a_misspelt_key_beside_another_mistake_lists_no_valid_key():
    config = merge(BASE, {"part_a": {"mnist": {"guidance": -1, "giudance": 5.0}}})
    with pytest.raises(ConfigError) as caught:
        validate(config, SCHEMA)
    assert str(caught.value) == (
        "invalid config: config key part_a.mnist.guidance: -1 is less than the minimum of 0")


def test_every_allowed_skimage_photo_loads_offline():
    from diffusionlab.data.images import SKIMAGE_PHOTOS, open_image

    for name in SKIMAGE_PHOTOS:
        image = open_image(f"skimage:{name}")
        assert min(image.size) >= 100, name


# Through Snakemake's command line: one line on screen, no traceback, nothing made.
SNAKEMAKE_NOISE = ("Using workflow specific profile", "Config file ", "Assuming unrestricted")


@pytest.mark.parametrize(("overlay", "key"), [
    (box(0.6, 0.0, 0.5, 1.0), "part_a.mnist.inpainting[0].box"),
    ({"part_a": {"mnist": {"guidance": -1}}}, "part_a.mnist.guidance"),
    ({"data": {"test_size": 5}}, "data.test_size"),
])
def test_dry_run_shows_one_line(overlay, key, tmp_path):
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(overlay))
    result = snakemake(tmp_path, "-n", configfiles=[tmp_path / "mine.yaml"], check=False)
    assert result.returncode != 0
    lines = [line for line in (result.stdout + result.stderr).splitlines()
             if line.strip() and not line.startswith(SNAKEMAKE_NOISE)]
    assert len(lines) == 1, lines
    assert lines[0].startswith("invalid config: ") and key in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.yaml"]


def test_a_failing_job_shows_its_one_line_and_no_traceback(tmp_path):
    """A user error inside a job: its log holds the one line, which the profile's
    show-failed-logs prints once; its outputs are removed."""
    root = tmp_path / "no-mnist-here"
    (tmp_path / "mine.yaml").write_text(yaml.safe_dump(
        {"data": {"source": "folder", "root": str(root), "train_size": None,
                  "test_size": None}}))
    result = snakemake(tmp_path, "results/data/mnist.pt", configfiles=[tmp_path / "mine.yaml"],
                       check=False)
    screen = result.stdout + result.stderr
    assert result.returncode != 0
    assert "Traceback" not in screen
    assert [line for line in screen.splitlines() if str(root) in line] == [
        (tmp_path / "logs" / "data.log").read_text().strip()]
    assert not (tmp_path / "results" / "data").exists()


# Files only the job that reads them can judge. Each case writes the bad file under a folder and
# returns (the job's main function, taking the path of its output; the file it must name).


def script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def png_bytes(size=(64, 48)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


def part_a_input(name: str, content: bytes | None):
    """Rule part_a_input preparing the image file `name` (None: the file is missing)."""

    def make(folder: Path):
        image = folder / name
        if content is not None:
            image.write_bytes(content)
        prepare = script("part_a_inputs").prepare
        return (lambda out: prepare(str(image), (28, 1), False, str(out))), image

    return make


def idx(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes, MNIST's format."""
    shape = b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return b"\x00\x00\x08" + bytes([array.ndim]) + shape + array.astype(np.uint8).tobytes()


def mnist_folder(damage: str, bad_file: str):
    """Rule data on a folder copy of MNIST (20 training, 10 test digits) with `bad_file`
    damaged: "truncated", "random" bytes, or "short" of labels."""

    def make(folder: Path):
        raw = folder / "mnist" / "MNIST" / "raw"
        raw.mkdir(parents=True)
        rng = np.random.default_rng(0)
        for prefix, n in (("train", 20), ("t10k", 10)):
            (raw / f"{prefix}-images-idx3-ubyte").write_bytes(
                idx(rng.integers(0, 256, (n, 28, 28))))
            (raw / f"{prefix}-labels-idx1-ubyte").write_bytes(idx(np.arange(n) % 10))
        path = raw / bad_file
        content = path.read_bytes()
        path.write_bytes({"truncated": content[:len(content) // 2],
                          "random": rng.bytes(len(content)),
                          "short": idx(np.arange(12) % 10)}[damage])
        data = {"source": "folder", "root": str(folder / "mnist"), "train_size": None,
                "test_size": None, "embedded_test_size": 1000}
        main = script("prepare_data").main
        return (lambda out: main(data, str(out), str(out.with_suffix(".json")))), path

    return make


def corrupt_checkpoint(folder: Path):
    from diffusionlab.training import load_checkpoint

    path = folder / "results" / "part_b" / "time" / "checkpoints" / "epoch2.pt"
    path.parent.mkdir(parents=True)
    path.write_bytes(png_bytes())  # not a checkpoint

    def sample(out: Path):
        load_checkpoint(path)
        out.write_bytes(b"samples")

    return sample, path


FILE_CASES = {
    "image beyond PIL's limit": part_a_input("huge.png", png_bytes((200, 200))),
    "corrupt image": part_a_input("corrupt.png", bytes(range(256)) * 4),
    "truncated image": part_a_input("truncated.png", png_bytes()[:60]),
    "missing image": part_a_input("missing.png", None),
    "truncated IDX images": mnist_folder("truncated", "train-images-idx3-ubyte"),
    "random-byte IDX labels": mnist_folder("random", "t10k-labels-idx1-ubyte"),
    "fewer labels than images": mnist_folder("short", "train-labels-idx1-ubyte"),
    "corrupt checkpoint": corrupt_checkpoint,
}


@pytest.mark.parametrize("case", FILE_CASES)
def test_bad_file_names_itself(case, tmp_path, monkeypatch):
    # PIL refuses images of more than twice MAX_IMAGE_PIXELS (DecompressionBombError): 20,000
    # here, so that the test needs no huge file.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 10_000)
    main, bad_file = FILE_CASES[case](tmp_path)
    out, log = tmp_path / "out" / "result.pt", tmp_path / "logs" / "job.log"
    out.parent.mkdir()
    from diffusionlab.jobrunner import run_job

    with pytest.raises(SystemExit) as caught:
        run_job(main, log, out)
    assert caught.value.code == 1
    lines = log.read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and bad_file.name in lines[0], lines
    assert list(out.parent.iterdir()) == []


def test_corrupt_checkpoint_names_the_rule_that_rebuilds_it(tmp_path):
    from diffusionlab.jobrunner import UserError

    main, _ = corrupt_checkpoint(tmp_path)
    with pytest.raises(UserError, match="rule train_time rebuilds it"):
        main(tmp_path / "samples.pt")


def test_corrupt_resume_state_is_discarded_with_a_warning(tmp_path, capsys):
    from diffusionlab.training import read_state

    state = tmp_path / "resume" / "state.pt"
    state.parent.mkdir()
    state.write_bytes(b"not a state file")
    assert read_state(state, "key", None, "cpu") is None
    warning = capsys.readouterr().out
    assert "warning" in warning and str(state) in warning and "starts over" in warning


def test_a_config_error_inside_a_job_is_one_line_too(tmp_path):
    from diffusionlab.jobrunner import run_job

    def main():
        raise ConfigError("model spec key 'hidden': -1 is not a positive integer")

    with pytest.raises(SystemExit) as caught:
        run_job(main, tmp_path / "job.log")
    assert caught.value.code == 1
    assert (tmp_path / "job.log").read_text() == (
        "error: model spec key 'hidden': -1 is not a positive integer\n")
