"""The evaluation's rule scripts, called as functions on tiny inputs (no Snakemake)."""

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from diffusionlab.data import load_mnist
from diffusionlab.evaluation.classifier import load_classifier
from diffusionlab.evaluation.sample_quality import judged
from diffusionlab.jobrunner import UserError
from diffusionlab.sampling import sample
from diffusionlab.schedule import DDPMSchedule
from diffusionlab.training import TrainSettings, checkpoint, load_checkpoint, new_model

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
SCHEDULE = {"num_steps": 30, "beta_start": 1e-4, "beta_end": 0.02, "variance": "beta"}


def script(name):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("evaluation")
    load_mnist("folder", "/work/shared/datasets/mnist-5k", train_size=200, test_size=50).save(
        folder / "mnist.pt")
    for kind in ("unconditional", "time", "class"):
        s = TrainSettings(kind=kind, hidden=4, epochs=1, batch_size=2, lr=1e-3, seed=0,
                          num_steps=30)
        torch.save(checkpoint(new_model(s), s, 1, {}), folder / f"{kind}.pt")
    return folder


@pytest.fixture(scope="module")
def classifier(files):
    path = files / "classifier.pt"
    script("evaluation_classifier").main(
        str(files / "mnist.pt"), str(path), str(files / "classifier.json"),
        {"channels": [4, 8], "features": 16, "epochs": 1, "batch_size": 50, "lr": 1e-2},
        seed=0, device="cpu", precision="auto")
    return path


def test_classifier_job_records_its_accuracy(classifier, files):
    meta = torch.load(classifier, weights_only=True)["meta"]
    assert meta["test_digits"] == 50 and 0 <= meta["test_accuracy"] <= 1
    # every training digit of the data, in every epoch
    assert meta["train_digits"] == 200 and meta["epoch_digits"] == [200]
    info = json.loads((files / "classifier.json").read_text())
    assert info["test_accuracy"] == meta["test_accuracy"] and info["train_digits"] == 200
    assert info["precision"] == meta["precision"] == "auto"


def test_denoising_job_writes_its_files(files):
    tables = {}
    for precision in ("fp32", "bf16"):
        table = files / f"denoising_{precision}.csv"
        script("evaluation_metrics").denoising(
            str(files / "mnist.pt"), [str(files / "unconditional.pt")], str(table),
            str(files / "denoising.png"), epochs=[1], sigmas=[0.0, 0.5], digits=20, seed=0,
            device="cpu", precision=precision)
        tables[precision] = result = pd.read_csv(table)
        assert result["method"].tolist()[-1] == "UNet, epoch 1" and len(result) == 8
        assert (result["test_digits"] == 20).all() and (files / "denoising.png").stat().st_size
    # performance.sample_precision reaches the denoiser: bf16 ran, and moved its MSE little
    unet = [t[t["method"] == "UNet, epoch 1"]["mse"].to_numpy() for t in tables.values()]
    assert (unet[0] != unet[1]).any()
    assert abs(unet[1] / unet[0] - 1).max() < 0.02


def test_guidance_job_and_step_counts_beyond_the_schedule(files, classifier):
    metrics = script("evaluation_metrics")
    metrics.guidance(str(classifier), str(files / "class.pt"),
                     str(files / "guidance.csv"), str(files / "guidance.png"), SCHEDULE,
                     scales=[0, 5], digits=[3], samples_per_digit=2, num_steps=3,
                     method="ddim", spacing="trailing", batch_size=8, seed=0, device="cpu",
                     precision="fp32")
    assert pd.read_csv(files / "guidance.csv")["guidance"].tolist() == [0, 5]
    with pytest.raises(UserError, match=r"evaluation\.sampler_steps\.steps \[300\]"):
        metrics.sampler_steps(None, None, None, None, None, None, "class", SCHEDULE,
                              steps=[300, 20], methods=["ddim"], spacing="trailing",
                              num_samples=10, guidance=5.0, batch_size=8, seed=0, device="cpu",
                              precision="fp32")


def test_checkpoints_job(files, classifier):
    metrics = script("evaluation_metrics")
    table = files / "checkpoints_class.csv"
    job = {"schedule": SCHEDULE, "spacing": "trailing", "guidance": 5.0, "batch_size": 8,
           "seed": 0, "device": "cpu", "precision": "fp32"}
    metrics.checkpoints(str(files / "mnist.pt"), str(classifier), [str(files / "class.pt")] * 2,
                        str(table), epochs=[1, 3], num_samples=10, **job)
    quality = pd.read_csv(table)
    assert quality["epoch"].tolist() == [1, 3] and quality["samples"].eq(10).all()
    # the same weights and noise at both "epochs": the same samples, the same scores
    assert quality.drop(columns="epoch").nunique().eq(1).all()
    with pytest.raises(UserError, match=r"evaluation\.checkpoints\.num_samples = 500"):
        metrics.checkpoints(str(files / "mnist.pt"), str(classifier), [str(files / "class.pt")],
                            str(table), epochs=[1], num_samples=500, **job)


def target_samples(files, classifier, model, data, table=None, **figure):
    """The target_samples job of `model` with its figure's settings (rule sample's), T = 5;
    its files are target_samples_{table}.csv and .json (table: the model unless given)."""
    out = files / f"target_samples_{table or model}"
    # By the names of rule evaluate_target_samples' inputs, outputs and params.
    script("evaluation_metrics").target_samples(
        data=str(data), classifier=str(classifier), checkpoint=str(files / f"{model}.pt"),
        table=f"{out}.csv", drawn=f"{out}.json", schedule={**SCHEDULE, "num_steps": 5}, seed=3,
        device="cpu", precision="fp32", samples_per_digit=50, **figure)


def test_target_samples_and_targets_jobs(files, classifier, tmp_path):
    # the Fréchet floor of 500 samples needs 500 training digits: the fixture has 200
    with pytest.raises(UserError, match=r"evaluation\.targets\.samples_per_digit = 50 \(500 "
                       r"samples in batches of 50\) needs 500 training digits"):
        target_samples(files, classifier, "class", files / "mnist.pt", samples_per_class=5,
                       guidance=5.0)
    data = tmp_path / "mnist.pt"
    load_mnist("folder", "/work/shared/datasets/mnist-5k", train_size=520, test_size=50).save(data)
    target_samples(files, classifier, "class", data, samples_per_class=5, guidance=5.0)
    target_samples(files, classifier, "time", data, num_samples=40)
    readings = pd.read_csv(files / "target_samples_class.csv")
    assert len(readings) == 500 and (readings["requested"].value_counts() == 50).all()
    assert readings["requested"].tolist()[:12] == [*range(10), 0, 1]  # the figure's columns
    assert readings["batch"].tolist()[::50] == list(range(10))
    drawn = json.loads((files / "target_samples_class.json").read_text())
    assert {k: drawn[k] for k in ("epoch", "samples", "batch_size", "batches", "seed", "steps",
                                  "guidance", "precision", "first_batch_is_figure")} == {
        "epoch": 1, "samples": 500, "batch_size": 50, "batches": 10, "seed": 3, "steps": 5,
        "guidance": 5.0, "precision": "fp32", "first_batch_is_figure": True}
    assert drawn["frechet_distance"] > drawn["floor"] > 0
    # the first batch is the figure's grid: the judge reads it as it reads the figure's samples
    grid, _ = sample(load_checkpoint(files / "class.pt"), DDPMSchedule.linear(5, 1e-4, 0.02), 50,
                     generator=torch.Generator().manual_seed(3),
                     classes=torch.arange(10).repeat(5), guidance=5.0)
    figure = judged(load_classifier(classifier), grid.clamp(0, 1), torch.arange(10).repeat(5))
    assert readings["confidence"][:50].to_numpy() == pytest.approx(
        figure["confidence"].to_numpy(), abs=1e-6)
    time_drawn = json.loads((files / "target_samples_time.json").read_text())
    assert (time_drawn["samples"], time_drawn["batches"], time_drawn["guidance"]) == (520, 13, None)
    assert "requested" not in pd.read_csv(files / "target_samples_time.csv")
    # larger batches than the figure's: classes 0-9 in turn fill each, the first is not the grid
    target_samples(files, classifier, "class", data, samples_per_class=5, guidance=5.0,
                   batch_size=260, table="larger")
    larger = pd.read_csv(files / "target_samples_larger.csv")
    assert len(larger) == 520 and (larger["requested"].value_counts() == 52).all()
    assert larger["requested"].tolist()[250:270] == [*range(10)] * 2
    assert larger["batch"].tolist()[259:261] == [0, 1]
    larger_drawn = json.loads((files / "target_samples_larger.json").read_text())
    assert (larger_drawn["batches"], larger_drawn["first_batch_is_figure"]) == (2, False)

    targets, losses = files / "targets.csv", files / "time_losses.csv"
    # 2 epochs of 30 steps, 0.5 then 0.03: the 50-step mean is below 0.1 from step 52 on
    rows = [f"{1 + i // 30},{i % 30},{0.5 if i < 10 else 0.03}\n" for i in range(60)]
    losses.write_text("epoch,step,loss\n" + "".join(rows))
    script("evaluation_targets").main(
        str(files / "classifier.json"), str(losses),
        str(files / "target_samples_time.csv"),
        str(files / "target_samples_time.json"), str(files / "target_samples_class.csv"),
        str(files / "target_samples_class.json"), str(targets))
    result = pd.read_csv(targets)
    assert len(result) == 7 and result["met"].isin(["yes", "no"]).all()
    assert result["reached"].iloc[1:3].tolist() == pytest.approx([52, 0.03])
    assert result["samples"].tolist() == [50, 60, 30, 520, 520, 500, 500]
    accuracy = (readings["predicted"] == readings["requested"]).mean()
    assert result["reached"].iloc[5] == pytest.approx(accuracy, abs=1e-6)
    assert result["reached"].iloc[6] == pytest.approx(drawn["frechet_distance"] / drawn["floor"],
                                                      rel=1e-5)
