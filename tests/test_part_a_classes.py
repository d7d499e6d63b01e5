"""Part A on a deep dive data set's class model: prompts naming its classes, the config glue
(part_a.datasets, checks) and every job on a tiny 3-channel 32x32 class model."""

import copy
from pathlib import Path

import pytest
import torch
import yaml
from part_a_fixtures import tiny_class_checkpoint

from diffusionlab.config import ConfigError, validate
from diffusionlab.data import Dataset
from diffusionlab.data.layout import CIFAR_CLASSES, FASHION_CLASSES
from diffusionlab.part_a import item_params
from diffusionlab.part_a.backend import PromptError
from diffusionlab.part_a.class_prompts import prompt_class
from diffusionlab.part_a.items import resolve_input, run, save_input
from diffusionlab.part_a.mnist import ClassBackend

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.mark.parametrize(("prompt", "index"), [
    ("a photo of a sneaker", 7), ("sneaker", 7), ("Sneaker", 7), ("a photo of an ankle boot", 9),
    ("a t-shirt", 0), ("T-shirt/top", 0), ("a photo of a  Shirt", 6), ("a trouser", 1),
    ("", None),
])
def test_fashion_prompts_name_their_class(prompt, index):
    assert prompt_class(prompt, FASHION_CLASSES) == index


def test_digit_prompts_and_plain_digits_name_the_digit():
    digits = [str(d) for d in range(10)]
    assert prompt_class("a handwritten 7", digits) == prompt_class("7", digits) == 7
    with pytest.raises(ValueError, match="a handwritten 12"):
        prompt_class("a handwritten 12", digits)


def test_a_prompt_naming_no_class_lists_the_classes():
    with pytest.raises(ValueError, match="Sneaker, Bag, Ankle boot") as caught:
        prompt_class("a photo of a dog", FASHION_CLASSES)
    assert "\n" not in str(caught.value)
    assert prompt_class("a photo of a dog", CIFAR_CLASSES) == 5


def test_the_reference_config_runs_part_a_on_fashion(config):
    validate(config, ROOT / "schemas" / "config.schema.yaml")
    item_params.check(config)
    assert "fashion" in config["part_a"]["backends"]
    assert item_params.num_steps(config, "fashion") == 300
    assert item_params.figures(config, "fashion")[0] == "results/part_a/fashion/sampling.png"
    spec = item_params.backend_spec(config, "fashion")
    assert spec == {"name": "classes", "dataset": "fashion", "epoch": 20, "variance": "posterior",
                    "precision": config["performance"]["sample_precision"]}


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c["part_a"]["datasets"]["fashion"].update(cfg_prompt="a photo of a dog"),
     r"part_a\.datasets\.fashion\.cfg_prompt: .*T-shirt/top, Trouser"),
    (lambda c: c["part_a"]["datasets"]["fashion"]["anagrams"][0]["prompts"].append("a cat"),
     r"part_a\.datasets\.fashion\.anagrams\[0\]\.prompts"),
    (lambda c: c["part_a"]["backends"].append("photo"), "class-conditioned"),
    (lambda c: c["part_a"]["backends"].append("nosuch"), "not a run|neither"),
    (lambda c: c["part_a"]["datasets"].pop("fashion"), "no settings under part_a.datasets"),
])
def test_data_set_backend_mistakes_are_one_line_naming_the_key(config, edit, message):
    edit(config)
    with pytest.raises(ConfigError, match=message) as caught:
        item_params.check(config)
    assert "\n" not in str(caught.value)


FIGURES = {  # figure -> (job, outputs)
    "sampling": ("sampling", ("figure", "images")),
    "forward": ("forward", ("figure",)),
    "denoising": ("denoising", ("blur", "one_step")),
    "cfg_samples": ("samples", ("figure",)),
    "sdedit": ("edits", ("figure",)),
    "inpainting_0": ("inpainting", ("figure",)),
    "anagram_0": ("anagram", ("figure", "images")),
    "hybrid_0": ("hybrid", ("figure", "images")),
}


def test_every_job_runs_on_a_3_channel_32x32_class_model(config, tmp_path):
    config = copy.deepcopy(config)
    config["deep_dive"]["models"]["fashion"].update(num_steps=30, epochs=1)
    config["part_a"].update(noise_levels=[500], i_starts=[20], i_start=20, num_samples=2)
    section = config["part_a"]["datasets"]["fashion"]
    section["sampling"].update(prompts=["a photo of a sneaker", "Bag"], num_inference_steps=[3])
    section["illusion_samples"] = 1
    folder = tmp_path / "checkpoints"
    folder.mkdir()
    tiny_class_checkpoint(folder / "epoch1.pt", FASHION_CLASSES, name="fashion")
    # The data set's prepared test images: test:N reads them at the model's shape.
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(3)
    Dataset(images, labels, images, labels, {"class_names": FASHION_CLASSES}).save(
        tmp_path / "data.pt")
    test = resolve_input("test:1", 32, 3, tmp_path / "data.pt")
    assert torch.equal((test * 255).round().byte(), images[1:2])
    for name, source in section["images"].items():
        save_input(resolve_input(source, 32, 3, tmp_path / "data.pt"), tmp_path / f"{name}.png")
    spec = item_params.backend_spec(config, "fashion")
    for figure, (job, outputs) in FIGURES.items():
        inputs = [tmp_path / f"{n}.png" for n in item_params.job_images(config, "fashion", figure)]
        out = {o: tmp_path / f"{figure}_{o}.{'pt' if o == 'images' else 'png'}" for o in outputs}
        run(job, spec, "cpu", {"checkpoint": folder, "images": inputs, "code": []}, out,
            item_params.job_args(config, "fashion", figure))
        assert all(p.stat().st_size > 0 for p in out.values()), figure
    assert torch.load(tmp_path / "anagram_0_images.pt", weights_only=True)["images"].shape == (
        1, 3, 32, 32)
    sampled = torch.load(tmp_path / "sampling_images.pt", weights_only=True)["images"]
    assert sampled.shape == (1, 2, 3, 32, 32)  # steps x prompts x image


def test_the_class_backend_reads_shape_classes_and_schedule_from_the_checkpoint(tmp_path):
    path = tiny_class_checkpoint(tmp_path / "epoch1.pt", FASHION_CLASSES, name="fashion")
    backend = ClassBackend.from_checkpoint(path)
    assert (backend.name, backend.channels, backend.image_size) == ("fashion", 3, 32)
    assert backend.num_steps == 30 and backend.class_names == FASHION_CLASSES
    emb = backend.encode_prompts(["a photo of a sneaker", ""])
    assert emb.shape == (2, 10) and emb[0].argmax() == 7 and emb[1].sum() == 0
    with pytest.raises(PromptError, match="Ankle boot"):
        backend.encode_prompts(["a handwritten 7"])
