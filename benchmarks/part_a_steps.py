"""Seconds per denoising step of part A's algorithms, on the MNIST or the DeepFloyd backend.

Each algorithm runs the strided sampler of part A (diffusionlab.part_a.denoise) for a few steps
on a batch of images, through the same estimators the rules use: one prompt, classifier-free
guidance (conditional and unconditional passes in one call), a visual anagram (two views, with
CFG: four images a call) and a hybrid image (two prompts with CFG). On DeepFloyd, stage I's
own sampler (diffusers' IFPipeline) and stage II's upsampler are timed per step too.

    python -m benchmarks.part_a_steps --backend mnist        # random class UNet, config width
    python -m benchmarks.part_a_steps --backend mnist --checkpoint results/part_b/class/epoch_20.pt
    python -m benchmarks.part_a_steps --backend deepfloyd    # tiny random IF-shaped pipeline

Without --stage-1, the DeepFloyd backend is the tiny randomly initialised IF-shaped pipeline of
the tests (tests/part_a_fixtures.py), built in a scratch folder: it measures the code path's
overhead, not the real model, whose weights need Hugging Face access and a GPU. With
--stage-1/--stage-2 (Hub ids or folders) it loads the real stages like the workflow does.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from diffusionlab.part_a.backend import DenoiserBackend
from diffusionlab.part_a.denoise import iterative_denoise
from diffusionlab.part_a.filters import frequency_bands
from diffusionlab.part_a.guidance import anagram, factorized, guided
from diffusionlab.part_a.views import get_view

from . import common

COLUMNS = ["backend", "algorithm", "images", "unet_batch", "steps", "s_per_step",
           "images_per_s"]


def timed(fn: Callable[[], object], device: torch.device, repeats: int) -> float:
    """Median wall seconds of fn() over `repeats` runs, after one untimed warm-up run."""
    fn()
    common.synchronize(device)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        common.synchronize(device)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def mnist_backend(checkpoint: str | None, cfg: dict, device: torch.device, scratch: Path):
    from diffusionlab.part_a.mnist import MNISTBackend
    from diffusionlab.training import TrainSettings, atomic_save, new_model
    from diffusionlab.training import checkpoint as make_checkpoint

    if checkpoint is None:  # a random class-conditioned UNet of the config's width and T
        b = cfg["part_b"]
        settings = TrainSettings(kind="class", hidden=b["class"]["hidden"], epochs=1,
                                 batch_size=2, lr=1e-3, seed=0,
                                 num_steps=b["schedule"]["num_steps"])
        checkpoint = scratch / "class.pt"
        atomic_save(make_checkpoint(new_model(settings), settings, 1, {}), checkpoint)
    return MNISTBackend.from_checkpoint(checkpoint, device, cfg["part_b"]["schedule"]["variance"],
                                        cfg["performance"]["sample_precision"])


def deepfloyd_backend(stage_1: str | None, stage_2: str | None, prompts: list[str],
                      device: torch.device, scratch: Path, upsample_steps: int):
    from diffusionlab.part_a.deepfloyd import DeepFloydBackend, compute_prompt_embeddings

    if stage_1 is None:  # the tests' tiny IF-shaped pipeline
        sys.path.insert(0, str(common.ROOT / "tests"))
        from part_a_fixtures import save_tiny_if

        stage_1, stage_2 = (str(p) for p in save_tiny_if(scratch / "tiny_if"))
    embeddings = scratch / "embeddings.pt"
    compute_prompt_embeddings(stage_1, prompts, embeddings, device=device)
    backend = DeepFloydBackend.load(stage_1, embeddings, stage_2, device=device,
                                    upsample_steps=upsample_steps)
    return backend


def algorithms(backend: DenoiserBackend, prompts: list[str], gamma: float, blur: tuple):
    """(name, estimator, UNet images per image and step) of each timed algorithm."""
    first, second, null = (backend.encode_prompts([p]) for p in prompts)
    views = [get_view("identity"), get_view("flip")]
    kernel, sigma = blur

    def bands(x):
        return frequency_bands(x, [kernel], [sigma])

    return [
        ("one prompt", guided(backend, first), 1),
        ("CFG", guided(backend, first, null, gamma), 2),
        ("anagram, 2 views + CFG", anagram(backend, [first, second], views, null, gamma), 4),
        ("hybrid, 2 prompts + CFG", factorized(backend, [first, second], bands, null, gamma), 4),
    ]


def measure(backend: DenoiserBackend, prompts: list[str], images: int, steps: int,
            repeats: int, gamma: float, blur: tuple) -> list[dict]:
    timesteps = backend.strided_timesteps()[: steps + 1]
    x = torch.randn(backend.image_shape(images), generator=torch.Generator().manual_seed(0))
    x = x.to(backend.device)
    rows = []
    for name, estimator, per_image in algorithms(backend, prompts, gamma, blur):
        def run(estimator=estimator):
            gen = torch.Generator(device=backend.device).manual_seed(0)
            return iterative_denoise(backend, x, timesteps, estimator, gen)

        seconds = timed(run, backend.device, repeats) / steps
        rows.append({"algorithm": name, "unet_batch": images * per_image, "s_per_step": seconds})
    if backend.name == "deepfloyd":
        rows += pipeline_steps(backend, prompts, images, steps, repeats, gamma)
    for row in rows:
        row.update(backend=backend.name, images=images, steps=steps,
                   images_per_s=round(images / row["s_per_step"], 2),
                   s_per_step=round(row["s_per_step"], 4))
    return rows


def pipeline_steps(backend, prompts, images, steps, repeats, gamma) -> list[dict]:
    """diffusers' own stage I sampler and stage II upsampler, per step."""
    cond = backend.encode_prompts([prompts[0]] * images)
    null = backend.encode_prompts([prompts[-1]])

    def stage_1():
        gen = torch.Generator(device=backend.device).manual_seed(0)
        return backend.text_to_image(cond, null, steps, gamma, gen)

    rows = [{"algorithm": "stage I sampler (IFPipeline, CFG)", "unet_batch": 2 * images,
             "s_per_step": timed(stage_1, backend.device, repeats) / steps}]
    if backend.has_upsampler:
        small = stage_1()

        def stage_2():
            gen = torch.Generator(device=backend.device).manual_seed(0)
            return backend.upsample(small, cond, null, gen)

        rows.append({"algorithm": "stage II upsampler (CFG)", "unet_batch": 2 * images,
                     "s_per_step": timed(stage_2, backend.device, repeats)
                     / backend.upsample_steps})
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_arguments(parser)
    parser.add_argument("--backend", choices=("mnist", "deepfloyd"), default="mnist")
    parser.add_argument("--checkpoint", help="MNIST: a part B class-conditioned checkpoint "
                        "(default: a random UNet of the config's width)")
    parser.add_argument("--stage-1", help="DeepFloyd: stage I Hub id or folder (default: tiny)")
    parser.add_argument("--stage-2", help="DeepFloyd: stage II Hub id or folder")
    parser.add_argument("--images", type=int, default=4, help="images per batch (default 4)")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per run (default 10)")
    parser.add_argument("--repeats", type=int, default=3, help="median of N runs (default 3)")
    args = parser.parse_args(argv)
    common.setup_threads(args.threads)
    cfg = common.load_config(args.config, args.preset)
    device = common.devices(args.devices)[-1]
    settings = cfg["part_a"][args.backend]  # prompts, guidance and blur of the first anagram
    prompts = [*settings["anagrams"][0]["prompts"], ""]  # and hybrid, and the null prompt
    hybrid = settings["hybrids"][0]
    blur = (hybrid["kernel_sizes"][0], hybrid["sigmas"][0])
    with tempfile.TemporaryDirectory(prefix="part-a-steps-") as scratch:
        if args.backend == "mnist":
            backend = mnist_backend(args.checkpoint, cfg, device, Path(scratch))
        else:
            backend = deepfloyd_backend(args.stage_1, args.stage_2, prompts, device,
                                        Path(scratch),
                                        settings["upsample"]["num_inference_steps"])
        # the tiny pipeline's 16-pixel images take at most a 15-pixel blur
        blur = (min(blur[0], 2 * (backend.image_size // 2) - 1), blur[1])
        rows = measure(backend, prompts, args.images, args.steps, args.repeats,
                       settings["guidance"], blur)
    facts = common.facts_line(common.machine_facts(device))
    common.report(rows, COLUMNS, f"Part A, seconds per step, {args.backend} backend", facts,
                  args.csv, args.markdown)
    return rows


if __name__ == "__main__":
    main()
