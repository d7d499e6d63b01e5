"""Part A's metrics on the MNIST backend: config glue, known answers with a classifier that reads
one pixel, batches equal to part A's own, and the rule scripts run twice to the same bytes."""

import importlib.util
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml
from part_a_fixtures import tiny_mnist_checkpoint
from test_evaluation_illusions import READER, image

from diffusionlab.data import MNIST
from diffusionlab.evaluation import part_a_metric_params as params
from diffusionlab.evaluation.classifier import DigitClassifier, save_classifier
from diffusionlab.evaluation.part_a_metrics import (
    illusion_batch,
    illusion_tables,
    score_illusion,
    sdedit_edits,
    sdedit_table,
)
from diffusionlab.jobrunner import UserError
from diffusionlab.part_a import item_params as part_a
from diffusionlab.part_a import items as part_a_items
from diffusionlab.part_a.mnist import MNISTBackend

ROOT = Path(__file__).resolve().parents[1]


def script():
    spec = importlib.util.spec_from_file_location("evaluation_part_a",
                                                  ROOT / "scripts" / "evaluation_part_a.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


@pytest.fixture
def small(config):
    """The reference settings with 6 strided timesteps on a T = 30 model."""
    config["part_a"].update(stride=150, i_starts=[1, 3])
    config["part_b"]["schedule"]["num_steps"] = 30
    return config


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    path = tiny_mnist_checkpoint(tmp_path_factory.mktemp("model") / "class.pt", num_steps=30)
    return MNISTBackend.from_checkpoint(path)


# Config glue -------------------------------------------------------------------------------


def test_every_mnist_illusion_is_judged_with_its_figures_settings(config):
    jobs = params.illusion_jobs(config)
    assert [j["item"] for j in jobs] == [
        "anagram_0", "anagram_1", "anagram_2", "view_0", "view_1", "view_2",
        "hybrid_0", "hybrid_1", "hybrid_2"]
    six_nine = jobs[0]
    assert six_nine["kind"] == "anagram" and six_nine["targets"] == [6, 9]
    assert six_nine["figure"] == "results/part_a/mnist/anagram_0.png"
    for job in jobs:
        figure_args = part_a.job_args(config, "mnist", job["item"])
        assert figure_args.pop("num_samples") == 4
        assert {k: job[k] for k in figure_args} == figure_args
    assert jobs[6]["kind"] == "hybrid" and jobs[6]["targets"] == [0, 1]
    args = params.illusion_args(config)
    assert args["samples"] == 500 and args["backend"] == {
        "name": "mnist", "variance": "posterior", "precision": "fp32"}
    # part A's own variance, not part B's
    config["part_a"]["mnist"]["variance"] = "beta"
    assert params.illusion_args(config)["backend"]["variance"] == "beta"


def test_files_and_the_choice_of_images(config):
    files = params.files(config)
    assert len(files) == 7 and all(p.startswith("results/evaluation/part_a/") for p in
                                   files.values())
    assert files["illusions_table"].endswith("illusions.csv")
    assert files["sdedit_figure"].endswith("sdedit.png")
    assert not params.judges_figure_images(config)  # 4 images per figure, 500 wanted
    config["evaluation"]["illusions"]["samples"] = 4
    assert params.judges_figure_images(config)
    assert params.figure_images(config)[-1] == "results/part_a/mnist/hybrid_2.pt"


def test_nothing_to_judge_without_the_mnist_backend(config):
    config["part_a"]["backends"] = ["deepfloyd"]
    assert params.files(config) == {}
    # ... whatever the MNIST section holds: it is not read
    config["part_a"]["mnist"]["anagrams"][0]["prompts"][0] = "a photo of a dog"
    assert params.files(config) == {}


def test_items_with_a_null_prompt_are_left_out(config):
    config["part_a"]["mnist"]["anagrams"][1]["prompts"][0] = ""
    items = params.illusion_items(config)
    assert "anagram_1" not in items and "anagram_0" in items and len(items) == 8


def test_sdedit_takes_the_settings_of_the_sdedit_figure(config):
    args = params.sdedit_args(config)
    assert (args["prompt"], args["i_starts"], args["guidance"], args["seed"]) == (
        "", [1, 3, 5, 7, 10, 20], 5.0, 180)
    assert args["digits"] == 500 and "title" not in args


# Known answers -----------------------------------------------------------------------------


ANAGRAM = {"item": "anagram_0", "kind": "anagram", "figure": "a.png", "targets": [6, 9],
           "views": ["identity", "flip"]}
VIEW = {"item": "view_0", "kind": "anagram", "figure": "v.png", "targets": [2, 4],
        "views": ["identity", "flip"]}


def hybrid_image(far: int, near: int) -> torch.Tensor:
    """A checkerboard whose blur is far / 9 everywhere and whose top-left pixel is near / 9."""
    checker = (torch.arange(28)[:, None] + torch.arange(28)[None, :]) % 2 == 0
    return torch.where(checker, near / 9, 2 * far / 9 - near / 9)[None].float()


def test_anagram_scores_and_tables():
    six_nine = score_illusion(READER, torch.stack([image(6, 9), image(6, 9), image(6, 6)]),
                              ANAGRAM)
    two_four = score_illusion(READER, torch.stack([image(2, 4), image(1, 1), image(2, 4)]), VIEW)
    assert six_nine.columns[0] == "item" and six_nine["view"].tolist()[:2] == ["identity", "flip"]
    tables = illusion_tables(pd.concat([six_nine, two_four], ignore_index=True),
                             [ANAGRAM, VIEW])
    table = tables["table"].set_index("item")
    assert table.loc["anagram_0", "success_rate"] == pytest.approx(2 / 3)
    assert table.loc["view_0", "success_rate"] == pytest.approx(2 / 3)
    assert table.loc["anagram_0", "alignment"] == pytest.approx(2 / 3, abs=1e-5)
    # the all-6 sample shows view 0's digit upside down: margin -1
    assert table.loc["anagram_0", "concealment"] == pytest.approx(1 / 3, abs=1e-5)
    assert table.loc["anagram_0", "digits"] == "6 / 9"
    assert table.loc["anagram_0", "views"] == "identity / flip"
    assert table.loc["anagram_0", "samples"] == 3
    views = tables["views"].set_index(["item", "view"])
    assert views.loc[("anagram_0", "identity"), "accuracy"] == 1.0
    assert views.loc[("anagram_0", "flip"), "accuracy"] == pytest.approx(2 / 3)
    assert views.loc[("anagram_0", "flip"), "target"] == 9
    view_types = tables["view_types"]
    assert len(view_types) == 1 and view_types.loc[0, "items"] == 2
    assert view_types.loc[0, "samples"] == 6
    assert view_types.loc[0, "success_rate"] == pytest.approx(2 / 3)


def test_hybrids_are_read_low_passed_and_as_they_are():
    job = {"item": "hybrid_0", "kind": "hybrid", "figure": "h.png", "targets": [4, 7],
           "kernel_sizes": [9], "sigmas": [1.5]}
    images = torch.stack([hybrid_image(4, 7), hybrid_image(7, 4)])
    scores = score_illusion(READER, images, job)
    assert scores["view"].tolist()[:2] == ["far (low-pass)", "near (full image)"]
    assert scores["correct"].tolist() == [True, True, False, False]
    # a three-way hybrid is read far (first prompt) and near (last prompt)
    three = {**job, "targets": [4, 1, 7], "kernel_sizes": [9, 5], "sigmas": [1.5, 0.5]}
    assert score_illusion(READER, images, three)["target"].tolist() == [4, 7, 4, 7]


def test_sdedit_table_adds_timesteps_and_the_sources_accuracy():
    sources, labels = torch.stack([image(3, 0), image(5, 0)]), torch.tensor([3, 5])
    edits = {3: torch.stack([image(3, 0), image(2, 0)]), 1: torch.stack([image(0, 0)] * 2)}
    table = sdedit_table(READER, sources, labels, edits, [29, 24, 19, 14])
    assert table.columns.tolist() == ["i_start", "t", "edits", "kept_class", "p_source",
                                      "source_accuracy"]
    assert table["t"].tolist() == [24, 14] and table["kept_class"].tolist() == [0.0, 0.5]
    assert (table["source_accuracy"] == 1.0).all()


# Batches made with part A's algorithms ------------------------------------------------------


@pytest.mark.parametrize("item", ["anagram_0", "view_2", "hybrid_1"])
def test_a_batch_is_the_batch_of_part_as_job(small, backend, item, tmp_path):
    job = next(j for j in params.illusion_jobs(small) if j["item"] == item)
    figure_args = part_a.job_args(small, "mnist", item)
    figure_args["num_samples"] = 3
    fn = part_a_items.hybrid if job["kind"] == "hybrid" else part_a_items.visual_anagram
    fn(backend, **figure_args, out_figure=tmp_path / "f.png", out_images=tmp_path / "f.pt")
    saved = torch.load(tmp_path / "f.pt", weights_only=True)["images"]
    assert torch.equal(illusion_batch(backend, job, 3, batch_size=8), saved)
    in_twos = illusion_batch(backend, job, 3, batch_size=2)
    assert in_twos.shape == (3, 1, 28, 28) and in_twos.min() >= 0 and in_twos.max() <= 1
    assert torch.equal(in_twos, illusion_batch(backend, job, 3, batch_size=2))


def test_sdedit_edits_every_digit_at_every_i_start(small, backend):
    args = params.sdedit_args(small)
    digits = torch.rand(3, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    settings = {k: args[k] for k in ("prompt", "i_starts", "stride", "guidance", "seed")}
    edits = sdedit_edits(backend, digits, **settings, batch_size=2)
    assert sorted(edits) == [1, 3] and edits[3].shape == (3, 1, 28, 28)
    assert torch.equal(edits[1], sdedit_edits(backend, digits, **settings, batch_size=2)[1])
    guided = sdedit_edits(backend, digits, **{**settings, "prompt": "a handwritten 8"},
                          batch_size=2)
    assert not torch.equal(guided[1], edits[1])


# The rule scripts ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("files")
    tiny_mnist_checkpoint(folder / "class.pt", num_steps=30)
    torch.manual_seed(0)
    save_classifier(DigitClassifier((2, 4), 8), folder / "classifier.pt")
    g = torch.Generator().manual_seed(0)
    digits = torch.randint(0, 256, (6, 28, 28), generator=g, dtype=torch.uint8)
    MNIST(digits, torch.arange(6), digits, torch.arange(6)).save(folder / "mnist.pt")
    return folder


def outputs(folder: Path, names: dict) -> dict:
    return {name: str(folder / file) for name, file in names.items()}


def run_illusions(small, files, out: Path, samples: int, figure_tensors=()):
    out.mkdir()
    args = {**params.illusion_args(small), "samples": samples, "device": "cpu", "batch_size": 4}
    args["jobs"] = [j for j in args["jobs"] if j["item"] in ("anagram_0", "hybrid_0")]
    script().illusions(str(files / "mnist.pt"), str(files / "classifier.pt"),
                       **outputs(out, params.ILLUSION_OUTPUTS),
                       **args, checkpoint=str(files / "class.pt"), figure_tensors=figure_tensors)
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_illusions_job_is_byte_deterministic(small, files, tmp_path):
    first = run_illusions(small, files, tmp_path / "a", samples=5)
    assert first == run_illusions(small, files, tmp_path / "b", samples=5)
    assert sorted(first) == sorted(params.ILLUSION_OUTPUTS.values())
    table = pd.read_csv(tmp_path / "a" / "illusions.csv")
    assert table["item"].tolist() == ["anagram_0", "hybrid_0"] and (table["samples"] == 5).all()
    # The hybrid's ceiling: its digits 0 and 1 paired from the 6 test digits (one pair).
    assert table["ceiling"].isna().tolist() == [True, False]
    assert table["ceiling"].iloc[1] in (0.0, 1.0)
    assert len(pd.read_csv(tmp_path / "a" / "illusion_scores.csv")) == 2 * 5 * 2


def test_illusions_job_judges_the_figures_own_images(small, files, tmp_path):
    saved = []
    for item, prompts in (("anagram_0", ["a handwritten 6", "a handwritten 9"]),
                          ("hybrid_0", ["a handwritten 0", "a handwritten 1"])):
        images = torch.stack([image(6, 9)] * 3) if item == "anagram_0" else torch.rand(3, 1, 28, 28)
        torch.save({"images": images, "prompts": prompts}, tmp_path / f"{item}.pt")
        saved.append(str(tmp_path / f"{item}.pt"))
    run_illusions(small, files, tmp_path / "out", samples=2, figure_tensors=saved)
    scores = pd.read_csv(tmp_path / "out" / "illusion_scores.csv")
    assert scores.groupby("item")["sample"].nunique().tolist() == [2, 2]
    with pytest.raises(UserError, match="does not hold 4 images"):
        run_illusions(small, files, tmp_path / "more", samples=4, figure_tensors=saved)


def run_sdedit(small, files, out: Path, digits: int):
    out.mkdir()
    args = {**params.sdedit_args(small), "digits": digits, "device": "cpu", "batch_size": 4}
    script().sdedit(str(files / "mnist.pt"), str(files / "classifier.pt"),
                    str(files / "class.pt"), **outputs(out, params.SDEDIT_OUTPUTS), **args)
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def test_sdedit_job_is_byte_deterministic(small, files, tmp_path):
    first = run_sdedit(small, files, tmp_path / "a", digits=5)
    assert first == run_sdedit(small, files, tmp_path / "b", digits=5)
    table = pd.read_csv(tmp_path / "a" / "sdedit.csv")
    assert table["i_start"].tolist() == [1, 3] and (table["edits"] == 5).all()
    with pytest.raises(UserError, match="test split has 6 digits"):
        run_sdedit(small, files, tmp_path / "c", digits=7)
