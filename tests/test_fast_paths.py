"""The fast training paths agree with the plain one on the CPU; the benchmark scripts run.

Each comparison trains the same width-8 UNet for 3 Adam steps (lr 1e-3, batches of 16 digits)
with `diffusionlab.training.train`, once plainly and once with a fast path, and compares:

- channels-last and torch.compile (fp32; only the order of summation changes): per-step losses
  within 1e-5 relative (~5e-7 observed); weight updates within 5e-3 relative L2 (<= 6e-4 seen);
- bf16 autocast: losses within 5e-3 relative (<= 7e-4 observed); weight updates within 0.35
  relative L2 (<= 0.19 observed: Adam's first steps are close to lr * sign(g), so bf16 rounding
  of small gradients moves whole steps; unrelated updates would give about 1.4).

Weight updates (final minus initial weights) are compared over the learnable parameters except
the convolution biases that feed a BatchNorm: BatchNorm cancels them, so their true gradient is
zero and Adam turns the rounding noise of their gradients into full +-lr steps of either sign.

The torch.compile comparison is marked `slow` (about a minute of compiling on 2 cores with a cold
cache) and runs only when selected: `pytest -m slow tests/test_fast_paths.py`.
"""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader
from torchvision.transforms import ToTensor

from benchmarks import (
    end_to_end,
    projection,
    sampling_throughput,
    train_throughput,
)
from diffusionlab.data import as_float, load_mnist
from diffusionlab.runtime import cpu_flags, cpu_model, use_bf16
from diffusionlab.training import TrainSettings, batch_loss, new_model, train

ROOT = Path(__file__).resolve().parents[1]

KINDS = ("unconditional", "time", "class")
FP32_LOSS_RTOL, FP32_UPDATE_RTOL = 1e-5, 5e-3
BF16_LOSS_RTOL, BF16_UPDATE_RTOL = 5e-3, 0.35
# mean |difference| of sampled pixels in [0, 1]: <= 2e-5 observed here, 1.4e-3 for the laptop
# preset's trained class UNet over 300 steps
BF16_SAMPLE_ATOL = 2e-3


@pytest.fixture(scope="module")
def mnist():
    return load_mnist("embedded", train_size=48)


def settings(kind: str, **fast) -> TrainSettings:
    return TrainSettings(kind=kind, hidden=8, epochs=1, batch_size=16, lr=1e-3, seed=3,
                         num_steps=30, checkpoint_epochs=(1,), **fast)


def trained(s: TrainSettings, mnist, tmp_path: Path) -> tuple[torch.Tensor, dict]:
    """Per-step losses and final weights of a training run of the pipeline."""
    workdir = tmp_path / s.fingerprint()
    result = train(s, mnist.train_images, mnist.train_labels, workdir, progress=False)
    weights = torch.load(result["checkpoints"][1], weights_only=True)["model"]
    return torch.tensor([loss for _, _, loss in result["losses"]]), weights


def bn_cancelled_biases(model: nn.Module) -> set[str]:
    """Names of the conv biases directly followed by a BatchNorm (which cancels them)."""
    names = set()
    for prefix, module in model.named_modules():
        children = list(module.named_children()) if isinstance(module, nn.Sequential) else []
        for (name, layer), (_, after) in zip(children, children[1:], strict=False):
            if isinstance(layer, nn.Conv2d | nn.ConvTranspose2d) and isinstance(
                    after, nn.BatchNorm2d) and layer.bias is not None:
                names.add(f"{prefix}.{name}.bias" if prefix else f"{name}.bias")
    return names


def update_difference(s: TrainSettings, plain: dict, fast: dict) -> float:
    """|update_fast - update_plain| / |update_plain| over the compared parameters."""
    model = new_model(s)
    skip = bn_cancelled_biases(model)
    initial = model.state_dict()
    keys = [k for k, _ in model.named_parameters() if k not in skip]
    assert keys and len(skip) > 0
    u_plain = torch.cat([(plain[k] - initial[k]).flatten() for k in keys])
    u_fast = torch.cat([(fast[k] - initial[k]).flatten() for k in keys])
    return ((u_fast - u_plain).norm() / u_plain.norm()).item()


def compare(kind: str, fast: dict, mnist, tmp_path: Path) -> tuple[float, float, bool]:
    """(max relative loss difference, relative update difference, bit-identical weights)."""
    s = settings(kind)
    losses, weights = trained(s, mnist, tmp_path)
    fast_losses, fast_weights = trained(dataclasses.replace(s, **fast), mnist, tmp_path)
    assert len(losses) == len(fast_losses) == 3
    assert losses[-1] < losses[0]  # the run learns, so later losses reflect the updates
    loss_diff = ((fast_losses - losses).abs() / losses.abs()).max().item()
    identical = all(torch.equal(weights[k], fast_weights[k]) for k in weights)
    return loss_diff, update_difference(s, weights, fast_weights), identical


@pytest.mark.parametrize("kind", KINDS)
def test_channels_last_matches_plain(kind, mnist, tmp_path):
    loss_diff, update_diff, _ = compare(kind, {"channels_last": True}, mnist, tmp_path)
    assert loss_diff <= FP32_LOSS_RTOL
    assert update_diff <= FP32_UPDATE_RTOL


@pytest.mark.parametrize("kind", KINDS)
def test_bf16_autocast_within_tolerance(kind, mnist, tmp_path):
    fast = {"channels_last": True, "autocast_bf16": True}
    loss_diff, update_diff, identical = compare(kind, fast, mnist, tmp_path)
    assert not identical, "bf16 autocast changed nothing: is it applied at all?"
    assert loss_diff <= BF16_LOSS_RTOL
    assert update_diff <= BF16_UPDATE_RTOL


CPUINFO = """processor\t: 0
vendor_id\t: {vendor}
model name\t: {model}
flags\t\t: fpu sse sse2 avx avx2 {flags}

"""
CPUS = {  # /proc/cpuinfo of the CPU kinds the project meets, and what precision auto picks
    "Xeon with AMX": ("GenuineIntel", "Intel(R) Xeon(R) Platinum 8488C",
                      "avx512f avx512_bf16 amx_bf16 amx_tile amx_int8", True),
    "EPYC with AVX512-BF16": ("AuthenticAMD", "AMD EPYC 9R14", "avx512f avx512_bf16", True),
    "neither": ("AuthenticAMD", "AMD EPYC 7R13 Processor", "", False),
    "no AVX-512": ("GenuineIntel", "Intel(R) Core(TM) i7-8700", "fma", False),
}


@pytest.mark.parametrize("cpu", CPUS)
def test_auto_precision_follows_the_cpu_flags(cpu, mnist, tmp_path):
    """auto takes bf16 where the CPU computes it natively (AMX, AVX512-BF16), fp32 elsewhere;
    where it takes bf16, the training it runs stays within the bf16 tolerance of fp32."""
    vendor, model, flags, bf16 = CPUS[cpu]
    info = CPUINFO.format(vendor=vendor, model=model, flags=flags)
    cpu_device = torch.device("cpu")
    assert cpu_model(info) == model
    assert use_bf16("auto", cpu_device, cpu_flags(info)) is bf16
    assert not use_bf16("fp32", cpu_device, cpu_flags(info))
    assert use_bf16("bf16", cpu_device, cpu_flags(info))
    if bf16:
        loss_diff, update_diff, _ = compare("time", {"autocast_bf16": True}, mnist, tmp_path)
        assert loss_diff <= BF16_LOSS_RTOL and update_diff <= BF16_UPDATE_RTOL


def test_cpu_flags_of_an_unknown_cpu_are_empty():
    assert cpu_flags("") == set() and not use_bf16("auto", torch.device("cpu"), set())


@pytest.mark.slow
def test_compile_matches_eager(tmp_path, request):
    """torch.compile of a tiny UNet, 2 steps: ~60 s on 2 cores with a cold compile cache."""
    if "slow" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("slow (compiling takes ~60 s on 2 cores): select it with -m slow")
    if not (shutil.which("g++") or shutil.which("c++")):
        pytest.skip("torch.compile on the CPU needs a C++ compiler (g++), none on PATH")
    s = dataclasses.replace(settings("time"), hidden=4)
    data = load_mnist("embedded", train_size=32)  # 2 steps of 16
    losses, weights = trained(s, data, tmp_path)
    fast_losses, fast_weights = trained(dataclasses.replace(s, compile=True), data, tmp_path)
    assert len(losses) == len(fast_losses) == 2
    assert ((fast_losses - losses).abs() / losses).max().item() <= FP32_LOSS_RTOL
    assert update_difference(s, weights, fast_weights) <= FP32_UPDATE_RTOL


@pytest.mark.parametrize("kind", KINDS)
def test_starter_loader_and_tensor_batches_give_the_same_loss(kind, mnist):
    images, labels = mnist.train_images, mnist.train_labels
    idx = torch.randperm(len(labels), generator=torch.Generator().manual_seed(1))[:16]
    dataset = train_throughput.StarterMNIST(images, labels, ToTensor())
    x_loader, y_loader = next(iter(DataLoader(dataset, batch_size=16, sampler=idx.tolist())))
    x_tensor, y_tensor = as_float(images)[idx], labels[idx]
    assert torch.equal(x_loader, x_tensor) and torch.equal(y_loader, y_tensor)
    s = settings(kind)
    model = new_model(s)
    schedule = s.schedule() if s.objective == "ddpm" else None
    loss_loader = batch_loss(model, s, x_loader, y_loader, torch.Generator().manual_seed(5),
                             schedule)
    loss_tensor = batch_loss(model, s, x_tensor, y_tensor, torch.Generator().manual_seed(5),
                             schedule)
    assert torch.equal(loss_loader, loss_tensor)


@pytest.mark.parametrize("kind", KINDS)
def test_benchmark_steps_are_the_pipeline_steps(kind, mnist, tmp_path):
    """The benchmark's tensor path reproduces the losses of `train` exactly (3 steps of 16)."""
    s = settings(kind, channels_last=True)
    losses, _ = trained(s, mnist, tmp_path)
    path = train_throughput.TrainPath(channels_last=True)
    measured = train_throughput.measure(s, path, mnist.train_images, mnist.train_labels,
                                        torch.device("cpu"), steps=2, warmup=1)
    assert measured["images"] == 32
    assert measured["losses"] == losses[1:].tolist()


def test_starter_loader_shuffles_each_digit_once_per_epoch(mnist):
    loader = train_throughput.starter_loader(mnist.train_images, mnist.train_labels, 16, seed=0)
    x = torch.cat([xb for xb, _ in loader])
    assert x.shape == (48, 1, 28, 28)
    original = as_float(mnist.train_images)
    assert not torch.equal(x, original)  # shuffled
    # the same digits: every digit of the epoch matches exactly one original digit
    matches = (x.flatten(1)[:, None, :] == original.flatten(1)[None, :, :]).all(-1)
    assert torch.equal(matches.sum(0), torch.ones(48, dtype=torch.long))


def test_train_throughput_runs_every_path(tmp_path):
    rows = train_throughput.main([
        "--models", "time", "--hidden", "4", "--batch-size", "8", "--steps", "1",
        "--train-size", "24", "--devices", "cpu", "--threads", "1",
        "--csv", str(tmp_path / "train.csv"),
    ])
    paths = [r["path"] for r in rows]
    assert paths[:4] == [p.label for p in train_throughput.PATHS.values()]
    assert sum(r["pipeline"] == "yes" for r in rows) == 1
    assert rows[0]["speedup"] == 1.0 and all(r["images_per_s"] > 0 for r in rows)
    projected = projection.main(["--csv", str(tmp_path / "train.csv")])
    assert len(projected) == len(rows)  # one model: no total row
    assert all(p["note"] == "measured at batch 8" for p in projected)


def test_projection_arithmetic():
    config = {"part_b": {"time": {"batch_size": 128, "epochs": 20},
                         "class": {"batch_size": 128, "epochs": 20}}}
    rows = [{"model": m, "path": "p", "device": "cpu", "batch": 128, "images_per_s": 1000.0}
            for m in ("time", "class")]
    out = projection.project(rows, config, digits=60_000)
    # 20 epochs of ceil(60000 / 128) = 469 batches of 128 images at 1000 images/s
    assert out[0]["steps"] == 9380 and out[0]["seconds"] == pytest.approx(9380 * 0.128)
    assert out[2]["model"] == "all: time + class"
    assert out[2]["seconds"] == pytest.approx(2 * 9380 * 0.128)


def test_sampling_throughput_runs():
    rows = sampling_throughput.main(["--num-steps", "2", "--hidden", "4", "--devices", "cpu",
                                     "--threads", "1", "--warmup-steps", "1"])
    assert [(r["model"], r["precision"]) for r in rows] == [
        ("time", "fp32"), ("time", "bf16"), ("class", "fp32"), ("class", "bf16")]
    assert all(r["samples"] == 40 and r["steps"] == 2 and r["seconds"] > 0 for r in rows)
    rows = sampling_throughput.main(["--num-steps", "2", "--hidden", "4", "--devices", "cpu",
                                     "--threads", "1", "--warmup-steps", "0", "--precisions",
                                     "bf16", "--batch-sizes", "20", "30"])
    assert [(r["model"], r["samples"]) for r in rows] == [
        ("time", 20), ("time", 30), ("class", 20), ("class", 30)]
    # Both rates come from the unrounded time (the table's seconds keep 3 decimals, too few for
    # runs of a few milliseconds to recompute them from).
    assert all(r["sample_steps_per_s"] == pytest.approx(r["samples_per_s"] * 2, abs=1)
               for r in rows)


def test_end_to_end_copies_the_workflow_without_results():
    files = {str(p) for p in end_to_end.working_tree_files(ROOT)}
    assert {"Snakefile", "config.yaml", "src/diffusionlab/training.py"} <= files
    assert not any(f.startswith(("results/", "logs/", ".snakemake/", ".venv/")) for f in files)


@pytest.mark.parametrize("kind", ["time", "class"])
def test_bf16_sampling_stays_close_to_fp32(kind, mnist, tmp_path):
    """performance.sample_precision bf16: the network's forward pass in bf16, everything else
    in fp32. A briefly trained UNet sampled for all 30 steps of its schedule from the same
    noise gives images within BF16_SAMPLE_ATOL of fp32 on average (the trained laptop model's
    Frechet distance moved 0.4-0.5% and its class accuracy not at all: docs/benchmarks.md)."""
    from diffusionlab.evaluation.sample_quality import balanced_classes, generate
    from diffusionlab.training import load_checkpoint

    s = settings(kind)
    path = train(s, mnist.train_images, mnist.train_labels, tmp_path, progress=False)[
        "checkpoints"][1]
    plain, fast = load_checkpoint(path), load_checkpoint(path, precision="bf16")
    assert type(fast) is type(plain)
    x, t = torch.rand(4, 1, 28, 28), torch.full((4,), 0.5)
    extra = (torch.eye(10)[:4],) if kind == "class" else ()
    assert fast(x, t, *extra).dtype == torch.float32
    assert not torch.equal(fast(x, t, *extra), plain(x, t, *extra))  # bf16 did run
    # bf16 convolutions run channels-last (weights and image batches) at full speed
    convs = [m.weight for m in fast.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convs and all(w.is_contiguous(memory_format=torch.channels_last) for w in convs)
    sampler = {"num_steps": 30, "method": "ddpm", "guidance": 5.0,
               "classes": balanced_classes(20) if kind == "class" else None}
    images = [generate(m, s.schedule(), 20, seed=0, batch_size=20, **sampler)
              for m in (plain, fast)]
    assert (images[0] - images[1]).abs().mean() < BF16_SAMPLE_ATOL


@pytest.mark.parametrize("kind", ["unconditional", "time", "class"])
def test_inference_folds_the_batch_norms_into_the_convolutions(kind, mnist, tmp_path):
    """load_checkpoint folds each (transposed) convolution's batch norm into its weights
    (unet.fold_batch_norms): no norm is left, and the trained network's output is unchanged
    to float rounding, at a timestep, class and noise the norms' statistics never saw."""
    from diffusionlab.models import build_from_spec
    from diffusionlab.training import load_checkpoint, read_checkpoint, spec_of

    s = settings(kind)
    path = train(s, mnist.train_images, mnist.train_labels, tmp_path, progress=False)[
        "checkpoints"][1]
    ck = read_checkpoint(path)
    plain = build_from_spec(spec_of(ck, path))
    plain.load_state_dict(ck["model"])
    plain.eval()
    folded = load_checkpoint(path)
    assert any(isinstance(m, nn.BatchNorm2d) for m in plain.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in folded.modules()) == 3
    x = torch.randn(6, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    extra = {"unconditional": (), "time": (torch.full((6,), 0.3),),
             "class": (torch.full((6,), 0.8), torch.eye(10)[[0, 3, 7, 9, 2, 0]] * 1.0)}[kind]
    with torch.no_grad():
        expected, got = plain(x, *extra), folded(x, *extra)
    assert expected.std() > 1e-3  # a real output, not a dead network
    scale = expected.abs().max().item()
    torch.testing.assert_close(got, expected, atol=1e-6 + 1e-4 * scale, rtol=1e-4)


def test_end_to_end_lays_presets_over_in_order_after_the_targets():
    cmd = end_to_end.snakemake_command("laptop,exercise-only", "all", ["report"], ["--quiet"])
    assert cmd[3:] == ["report", "--cores", "all", "--quiet", "--configfile",
                       "presets/laptop.yaml", "presets/exercise-only.yaml"]
    assert end_to_end.snakemake_command("/tmp/x.yaml", "2", [], [])[-2:] == [
        "--configfile", "/tmp/x.yaml"]
