"""End-to-end runs of the workflow on the tiny preset (presets/ci.yaml).

The shared run (conftest's `tiny_run`) builds every target; a second clean run must give
byte-identical checkpoints and figures; a training job killed with SIGKILL and rerun must end
with the weights of an uninterrupted run; bad configs and missing data stop with one clear
message.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch
from PIL import Image
from workflow_runs import CI_PRESET, ROOT, snakemake

# Files whose content records wall-clock time, and so differs between two runs.
TIMED = ("benchmarks", "timing", "wall")

pytestmark = pytest.mark.e2e


def overlay(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def run_dir(tiny_run):
    """The working directory of the complete tiny run (conftest's `tiny_run`)."""
    return tiny_run[1]


def reproducible_files(workdir: Path, folder: str = "results"):
    files = {}
    for path in sorted((workdir / folder).rglob("*")):
        rel = path.relative_to(workdir).as_posix()
        if path.suffix in {".pt", ".png", ".gif", ".csv"} and not any(k in rel for k in TIMED):
            files[rel] = path.read_bytes()
    return files


def test_every_part_b_artifact_is_made_and_opens(run_dir):
    part_b = run_dir / "results" / "part_b"
    for png in ["noising.png", "denoiser/loss.png", "time/loss.png", "class/loss.png",
                "denoiser/results_epoch1.png", "denoiser/results_epoch2.png", "denoiser/ood.png",
                "time/samples_epoch1.png", "time/samples_epoch2.png",
                "class/samples_epoch1.png", "class/samples_epoch2.png"]:
        with Image.open(part_b / png) as img:
            assert img.format == "PNG" and min(img.size) > 50, png
    for gif in ["time/sampling_epoch2.gif", "class/sampling_epoch1.gif"]:
        with Image.open(part_b / gif) as img:
            assert img.format == "GIF" and img.n_frames == 30 // 5  # t = 25, 20, ..., 0
    for model, epochs in {"denoiser": (1, 2), "time": (1, 2), "class": (1, 2)}.items():
        for epoch in epochs:
            ck = torch.load(part_b / model / "checkpoints" / f"epoch{epoch}.pt", weights_only=True)
            assert ck["epoch"] == epoch and ck["data"]["source"] == "embedded"
        losses = pd.read_csv(part_b / model / "losses.csv")
        assert list(losses.columns) == ["epoch", "step", "loss"] and losses["loss"].gt(0).all()
        assert set(losses["epoch"]) == {1, 2}
    ood = pd.read_csv(part_b / "denoiser" / "ood_metrics.csv")
    assert ood["sigma"].tolist() == [0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0]
    assert ood["mse"].is_monotonic_increasing or ood["mse"].iloc[-1] > ood["mse"].iloc[0]
    meta = json.loads((run_dir / "results" / "data" / "mnist.json").read_text())
    assert meta["source"] == "embedded" and meta["train_digits"] == 1000
    info = json.loads((part_b / "class" / "training.json").read_text())
    assert info["data"]["train_digits"] == 1000 and info["machine"]["device"] == "cpu"
    assert (run_dir / "logs" / "part_b" / "train_class.log").read_text().strip()


def test_two_clean_runs_are_byte_identical(run_dir, tmp_path):
    # Part B's checkpoints, figures and animations (the rest of the run reads them); the
    # evaluation's metric files have byte-identity tests of their own.
    snakemake(tmp_path, "part_b")
    first = reproducible_files(run_dir, "results/part_b")
    second = reproducible_files(tmp_path, "results/part_b")
    assert first.keys() == second.keys() and len(first) > 20
    differ = [name for name in first if first[name] != second[name]]
    assert not differ


def test_killed_training_resumes_to_the_same_weights(tmp_path):
    longer = overlay(tmp_path, "longer.yaml", "part_b:\n  time:\n    epochs: 4\n"
                     "    sample_epochs: [2, 4]\n")
    target = "results/part_b/time/checkpoints/epoch4.pt"
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    clean.mkdir()
    killed.mkdir()
    snakemake(clean, target, configfiles=[longer])
    job = snakemake(killed, target, configfiles=[longer], background=True, start_new_session=True,
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = killed / "results" / "part_b" / "time" / "resume" / "state.pt"
    deadline = time.time() + 300
    while not state.exists() and job.poll() is None and time.time() < deadline:
        time.sleep(0.02)
    os.killpg(job.pid, signal.SIGKILL)  # mid-way through epoch 2
    job.wait()
    assert not (killed / target).exists()
    snakemake(killed, "--unlock", configfiles=[longer])  # a killed Snakemake leaves its lock
    snakemake(killed, target, configfiles=[longer])
    log = (killed / "logs" / "part_b" / "train_time.log").read_text()
    assert "resuming time training after epoch" in log
    a = torch.load(clean / target, weights_only=True)["model"]
    b = torch.load(killed / target, weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert (clean / target).read_bytes() == (killed / target).read_bytes()


def test_invalid_config_stops_before_any_job(tmp_path):
    bad = overlay(tmp_path, "bad.yaml", "part_b:\n  time:\n    epochs: -3\n")
    result = snakemake(tmp_path, "-n", configfiles=[bad], check=False)
    assert result.returncode != 0
    assert "config key part_b.time.epochs: -3 is less than the minimum of 1" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "results").exists()


def test_missing_local_data_says_what_to_do(tmp_path):
    missing = overlay(tmp_path, "missing.yaml",
                      f"data:\n  source: folder\n  root: {tmp_path / 'nowhere'}\n")
    result = snakemake(tmp_path, "results/data/mnist.pt", configfiles=[missing], check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "no MNIST folder" in output and "data: {source: embedded}" in output
    assert "presets/shared-mnist.yaml" in output and "data.source=" not in output
    assert not (tmp_path / "results" / "data" / "mnist.pt").exists()


def test_sample_precision_benchmark_reads_a_finished_run(run_dir):
    from benchmarks import sample_precision

    rows = sample_precision.main([
        "--results", str(run_dir / "results"), "--preset", str(CI_PRESET), "--epoch", "2",
        "--samples", "10", "--seeds", "0", "--devices", "cpu", "--threads", "1"])
    assert [r["precision"] for r in rows] == ["fp32", "bf16"]
    assert rows[0]["floor"] == rows[1]["floor"] and all(r["seconds"] > 0 for r in rows)
    assert all(0 <= r["class_accuracy"] <= 1 for r in rows)


def test_the_documented_command_lines_parse(tmp_path):
    """The README's reference command and the Makefile's report/publish recipes reach the
    workflow: a target written after --resources (which takes every following word) would be
    read as a resource."""
    makefile = (ROOT / "Makefile").read_text()
    recipes = re.findall(r"\$\(BIN\)/snakemake (\w+ --cores \$\(CORES\) --resources gpu=1) "
                         r"\$\$extra", makefile)
    assert [r.split()[0] for r in recipes] == ["report", "publish"]
    readme = (ROOT / "README.md").read_text()
    assert "snakemake --cores 1 --resources gpu=1 -- report " in readme
    commands = [r.replace("$(CORES)", "1").split() for r in recipes]
    commands.append(["--cores", "1", "--resources", "gpu=1", "--configfile", str(CI_PRESET),
                     "--", "report"])
    for args in commands:
        if "--configfile" not in args:
            args += ["--configfile", str(CI_PRESET)]
        result = subprocess.run(
            [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-n",
             "--directory", str(tmp_path), *args], cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 0, (args, result.stderr[-2000:])
        assert "report" in result.stdout
