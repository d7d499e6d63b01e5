"""The deep dive's throughput benchmark measures every architecture and projects Fashion-MNIST."""

import torch
import yaml

from benchmarks import dataset_throughput
from benchmarks.common import ROOT
from diffusionlab.runtime import use_bf16

# Tiny networks: widths [8, 16] for diffusers' UNet, D = 8 for the course UNets (as presets/ci)
TINY = {"deep_dive": {"models": {"cifar10": {"widths": [8, 16]}, "photo": {"widths": [8, 16]},
                                 "fashion": {"hidden": 8, "batch_size": 8}}}}


def test_dataset_throughput_measures_each_architecture_and_projects_fashion(tmp_path):
    preset = tmp_path / "tiny.yaml"
    preset.write_text(yaml.safe_dump(TINY))
    tables = dataset_throughput.main([
        "--preset", str(ROOT / "presets/ci.yaml"), "--preset", str(preset),
        "--architectures", "part_b.class", "deep_dive.fashion", "deep_dive.cifar10",
        "--sizes", "32", "--batch-size", "4", "--steps", "1", "--warmup", "1",
        "--fashion-steps", "1", "--devices", "cpu", "--threads", "1",
        "--csv", str(tmp_path / "t.csv"), "--markdown", str(tmp_path / "t.md")])
    precisions = ["fp32", "bf16"] if use_bf16("auto", torch.device("cpu")) else ["fp32"]
    rows = tables["throughput"]
    # part B's class UNet and Fashion-MNIST's are the same network at one batch: measured once
    assert [(r["architecture"], r["precision"]) for r in rows] == [
        (name, p) for name in ("part_b.class = deep_dive.fashion", "deep_dive.cifar10")
        for p in precisions]
    assert rows[0]["network"] == "course class D=8"
    assert rows[-1]["network"] == "unet2d class [8, 16] attn 16"
    assert all(r["input"] == "3x32x32" and r["batch"] == 4 and r["images_per_s"] > 0
               and r["parameters"] > 0 and r["cpu"] for r in rows)
    assert sum(r["pipeline"] == "yes" for r in rows) == 2  # one precision per network
    (fashion,) = [r for r in tables["fashion"] if r["pipeline"] == "yes"]
    assert fashion["input"] == "1x28x28" and fashion["batch"] == 8
    assert fashion["epoch_min"] > 0 and fashion["epochs"] == 2  # presets/ci's
    assert abs(fashion["run_min"] - 2 * fashion["epoch_min"]) < 0.1
    # one epoch: ceil(60,000 / 8) steps of 8 images at the measured rate
    assert abs(fashion["epoch_min"] - 7500 * 8 / fashion["images_per_s"] / 60) < 0.01
    text = (tmp_path / "t.md").read_text()
    header = "| " + " | ".join(dataset_throughput.COLUMNS) + " |"
    assert header in text and "Fashion-MNIST" in text and "torch " in text
    assert (tmp_path / "t.csv").read_text().splitlines()[0] == ",".join(
        dataset_throughput.COLUMNS)
