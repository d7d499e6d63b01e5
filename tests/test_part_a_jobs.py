"""Part A's workflow glue: config checks, job settings, input images, and every job run the way
the rules run it (items.run with the rules' input and output names)."""

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from part_a_fixtures import save_tiny_if, tiny_mnist_checkpoint
from PIL import Image

from diffusionlab.config import ConfigError, validate
from diffusionlab.data import MNIST
from diffusionlab.part_a import item_params
from diffusionlab.part_a.deepfloyd import compute_prompt_embeddings
from diffusionlab.part_a.items import resolve_input, run, save_input
from diffusionlab.part_a.mnist import draw_digit

ROOT = Path(__file__).resolve().parents[1]
SPEC_PROMPTS = {
    "an oil painting of a snowy mountain village", "a man wearing a hat", "a rocket ship",
    "a high quality photo", "a photo of a dog", "a photo of a man", "a photo of a hipster barista",
    "a photo of the amalfi coast", "an oil painting of an old man",
    "an oil painting of people around a campfire", "a lithograph of waterfalls",
    "a lithograph of a skull", "a pencil", "",
}


@pytest.fixture
def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def test_the_reference_config_is_valid_and_uses_the_exercise_prompts(config):
    validate(config, ROOT / "schemas" / "config.schema.yaml")
    item_params.check(config)
    assert set(item_params.prompts(config["part_a"]["deepfloyd"])) == SPEC_PROMPTS
    assert config["part_a"]["backends"] == ["deepfloyd", "mnist", "fashion"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["mnist"].update(test_image="nowhere"), "nowhere"),
        (lambda c: c["deepfloyd"]["anagrams"][0]["views"].append("flip"), "one prompt per view"),
        (lambda c: c["deepfloyd"]["hybrids"][0]["sigmas"].append(1.0), "blur sigmas"),
        (lambda c: c.update(i_starts=[1, 33]), "33"),
        (lambda c: c["mnist"].update(cfg_prompt="a photo of a dog"),
         "MNIST backend understands .* 'a photo of a dog'"),
        (lambda c: c["mnist"]["sampling"].update(num_inference_steps=[300]), "below the 300"),
    ],
)
def test_cross_key_mistakes_name_the_key(config, edit, message):
    edit(config["part_a"])
    with pytest.raises(ConfigError, match=message):
        item_params.check(config)


def test_schema_rejects_even_kernels_and_unknown_views(config):
    bad = copy.deepcopy(config)
    bad["part_a"]["mnist"]["blur"]["kernel_size"] = 4
    with pytest.raises(ConfigError, match="kernel_size"):
        validate(bad, ROOT / "schemas" / "config.schema.yaml")
    bad = copy.deepcopy(config)
    bad["part_a"]["deepfloyd"]["anagrams"][0]["views"][1] = "mirror"
    with pytest.raises(ConfigError, match="views"):
        validate(bad, ROOT / "schemas" / "config.schema.yaml")


def test_figures_and_job_settings(config):
    files = item_params.figures(config, "deepfloyd")
    assert len(files) == len(set(files))
    assert files[:2] == ["results/part_a/deepfloyd/sampling.png",
                         "results/part_a/deepfloyd/sampling_upsampled.png"]
    assert "results/part_a/deepfloyd/hybrid_3.pt" in files
    assert "results/part_a/mnist/sampling_upsampled.png" not in item_params.figures(config, "mnist")
    three_way = item_params.job_args(config, "deepfloyd", "hybrid_3")
    assert three_way["sigmas"] == [4.0, 1.0] and len(three_way["prompts"]) == 3
    assert item_params.job_args(config, "deepfloyd", "samples")["guidance"] is None
    assert item_params.job_args(config, "deepfloyd", "cfg_samples")["guidance"] == 7.0
    assert item_params.job_args(config, "mnist", "text_sdedit")["prompt"] == "a handwritten 8"
    assert item_params.job_args(config, "mnist", "view_1")["views"] == ["identity", "skew"]
    assert item_params.job_images(config, "deepfloyd", "inpainting_1") == ["cat"]
    assert item_params.job_images(config, "mnist", "forward") == ["test"]
    assert item_params.job_images(config, "mnist", "anagram_0") == []


def test_inputs_from_every_kind_of_source(tmp_path):
    digits = torch.arange(3 * 28 * 28, dtype=torch.int64).reshape(3, 28, 28) % 256
    MNIST(digits.to(torch.uint8), torch.zeros(3), digits.to(torch.uint8),
          torch.zeros(3)).save(tmp_path / "mnist.pt")
    test_digit = resolve_input("mnist:2", 28, 1, tmp_path / "mnist.pt")
    assert torch.allclose(test_digit[0, 0], digits[2].float() / 255, atol=1e-6)
    assert torch.equal(resolve_input("drawn:3", 28, 1), draw_digit(3))
    rgb = resolve_input("drawn:3", 16, 3)
    assert rgb.shape == (1, 3, 16, 16) and torch.equal(rgb[:, 0], rgb[:, 2])
    horse = resolve_input("skimage:horse", 28, 1)
    assert horse.mean() > 0.5  # a dark horse on white ...
    assert resolve_input("skimage:horse", 28, 1, dark_background=True).mean() < 0.5  # ... inverted
    with pytest.raises(Exception, match="3 digits"):
        resolve_input("mnist:3", 28, 1, tmp_path / "mnist.pt")
    save_input(rgb, tmp_path / "rgb.png")
    with Image.open(tmp_path / "rgb.png") as png:
        assert png.mode == "RGB" and png.size == (16, 16)
        back = torch.from_numpy(np.asarray(png)[..., 0].astype(np.float32))
    assert torch.equal(back, (rgb[0, 0] * 255).round())


def small_config(config: dict) -> dict:
    """The reference settings with few steps and samples, for tiny test runs."""
    part_a = config["part_a"]
    part_a.update(stride=150, i_start=2, i_starts=[1, 3], num_samples=2, show_every=2)
    for backend in ("deepfloyd", "mnist"):
        part_a[backend]["sampling"]["num_inference_steps"] = [2, 3]
        part_a[backend]["illusion_samples"] = 1
    return config


RULE_OUTPUTS = {  # the output names each rule gives its job (rules/part_a.smk)
    "sampling": ("figure", "images"),
    "forward": ("figure",),
    "denoising": ("blur", "one_step"),
    "iterative": ("strip", "compare"),
    "samples": ("figure",),
    "cfg_samples": ("figure",),
    "sdedit": ("figure",),
    "sdedit_web_drawn": ("figure",),
    "text_sdedit": ("figure",),
    "inpainting_0": ("figure",),
    "anagram_0": ("figure", "images"),
    "view_1": ("figure", "images"),
    "hybrid_0": ("figure", "images"),
}
JOB_OF = {"cfg_samples": "samples", "sdedit": "edits", "sdedit_web_drawn": "edits",
          "text_sdedit": "edits", "inpainting_0": "inpainting", "anagram_0": "anagram",
          "view_1": "anagram", "hybrid_0": "hybrid"}


def test_every_job_runs_on_the_mnist_backend_as_the_rules_run_it(config, tmp_path):
    config = small_config(config)
    section = config["part_a"]["mnist"]
    section["images"] = {"test": "drawn:7", "test_b": "drawn:1", "drawn_4": "drawn:4",
                         "drawn_5": "drawn:5", "horse": "skimage:horse"}
    checkpoint = tiny_mnist_checkpoint(tmp_path / "class.pt")
    for name, source in section["images"].items():
        save_input(resolve_input(source, 28, 1, dark_background=True), tmp_path / f"{name}.png")
    spec = item_params.runtime_backend(config, item_params.backend_spec(config, "mnist"))
    assert "cpu_offload" not in spec
    for figure, outputs in RULE_OUTPUTS.items():
        images = [tmp_path / f"{n}.png" for n in item_params.job_images(config, "mnist", figure)]
        out = {name: tmp_path / f"{figure}_{name}.{'pt' if name == 'images' else 'png'}"
               for name in outputs}
        run(JOB_OF.get(figure, figure), spec, "cpu",
            {"checkpoint": checkpoint, "images": images, "code": []}, out,
            item_params.job_args(config, "mnist", figure))
        assert all(p.stat().st_size > 0 for p in out.values()), figure
    anagrams = torch.load(tmp_path / "anagram_0_images.pt", weights_only=True)
    assert anagrams["images"].shape == (1, 1, 28, 28)
    assert anagrams["views"] == ["identity", "rotate_180"]
    assert anagrams["images"].min() >= 0 and anagrams["images"].max() <= 1
    sampled = torch.load(tmp_path / "sampling_images.pt", weights_only=True)
    assert sampled["images"].shape == (2, 3, 1, 28, 28)  # steps x prompts x image


def test_deepfloyd_sampling_and_upsampling_jobs(config, tmp_path):
    config = small_config(config)
    stage_1, stage_2 = save_tiny_if(tmp_path)
    section = config["part_a"]["deepfloyd"]
    section.update(stage_1=str(stage_1), stage_2=str(stage_2))
    section["upsample"]["num_inference_steps"] = 2
    embeddings = tmp_path / "embeddings.pt"
    compute_prompt_embeddings(str(stage_1), item_params.prompts(section), embeddings, device="cpu")
    spec = item_params.runtime_backend(config, item_params.backend_spec(config, "deepfloyd"))
    assert spec["cpu_offload"] is section["cpu_offload"]  # from the config, not a param
    assert "cpu_offload" not in item_params.backend_spec(config, "deepfloyd")
    files = {"embeddings": embeddings, "images": [], "code": []}
    run("sampling", spec, "cpu", files,
        {"figure": tmp_path / "sampling.png", "images": tmp_path / "sampling.pt"},
        item_params.job_args(config, "deepfloyd", "sampling"))
    run("upsampling", spec, "cpu", {**files, "stage_1": tmp_path / "sampling.pt"},
        {"figure": tmp_path / "upsampled.png"},
        item_params.job_args(config, "deepfloyd", "sampling_upsampled"))
    assert torch.load(tmp_path / "sampling.pt", weights_only=True)["images"].shape == (
        2, 3, 3, 16, 16)
    with Image.open(tmp_path / "upsampled.png") as png:
        assert png.width > 200
