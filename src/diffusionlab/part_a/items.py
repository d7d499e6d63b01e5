"""Part A's items: one function per item of the exercise, on any backend, each run as a job.

Each job takes an open backend, its input images (in [0, 1]) and plain settings, draws all of
its noise from one generator seeded with `seed`, and writes its figure (plus, for the
illusions, the images themselves as a tensor file for evaluation). Jobs that need the same
noisy images (1.1 to 1.3) rebuild them from the same seed instead of passing files around.

Timesteps in the settings are on the exercise's T = 1000 scale and are scaled to the backend
(backend.scale_timestep, backend.strided_timesteps).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Mapping
from pathlib import Path

import torch
from PIL import Image
from torch.nn import functional as F

from ..data import MNIST, as_float
from ..jobrunner import UserError
from ..runtime import pick_device
from ..torchfiles import read_torch_dict
from . import figures
from .backend import DenoiserBackend
from .denoise import forward, iterative_denoise, one_step_denoise, sample
from .edit import box_mask, inpaint, sdedit
from .filters import frequency_bands, lowpass
from .guidance import anagram, factorized, guided
from .images import load_image
from .mnist import ClassBackend, MNISTBackend, draw_digit, load_drawing
from .views import get_view

DRAWN_PREFIX, MNIST_PREFIX, TEST_PREFIX = "drawn:", "mnist:", "test:"


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def open_backend(spec: Mapping, device: str = "auto") -> DenoiserBackend:
    """The backend a job runs on, from the rule's plain settings.

    deepfloyd: {"name", "stage_1", "stage_2" (or None), "embeddings", "cpu_offload",
    "upsample": {num_inference_steps, guidance, noise_level}};
    mnist: {"name", "checkpoint", "variance", "precision"}; classes (a deep dive data set's
    class model): the same and "dataset" and "epoch", the checkpoint being the folder of the
    run's checkpoints. `device` as in the config (auto, cpu, cuda:N).
    """
    device = pick_device(str(device))
    if spec["name"] == "deepfloyd":
        from .deepfloyd import DeepFloydBackend  # diffusers is only imported when needed

        upsample = spec.get("upsample") or {}
        return DeepFloydBackend.load(
            spec["stage_1"], spec["embeddings"], spec.get("stage_2"), device=device,
            cpu_offload=spec.get("cpu_offload", False),
            upsample_steps=upsample.get("num_inference_steps", 50),
            upsample_guidance=upsample.get("guidance", 4.0),
            noise_level=upsample.get("noise_level", 250),
        )
    if spec["name"] == "mnist":
        return MNISTBackend.from_checkpoint(spec["checkpoint"], device, spec["variance"],
                                            spec.get("precision", "fp32"))
    if spec["name"] == "classes":
        path = Path(spec["checkpoint"]) / f"epoch{spec['epoch']}.pt"
        return ClassBackend.from_checkpoint(path, device, spec["variance"],
                                            spec.get("precision", "fp32"), spec["dataset"])
    raise UserError(f"unknown part A backend {spec['name']!r}; choose deepfloyd, mnist or "
                    "classes")


# Inputs -------------------------------------------------------------------------------------


def resolve_input(
    source: str, size: int, channels: int, mnist_data: str | Path | None = None,
    dark_background: bool = False,
) -> torch.Tensor:
    """[1, channels, size, size] in [0, 1] from any source of the config.

    Besides images.load_image's sources: `drawn:D` is digit D drawn with pen strokes
    (mnist.draw_digit), `mnist:N` the N-th digit of the prepared MNIST test split and `test:N`
    the N-th image of the test split of the prepared data set `mnist_data`. With
    dark_background (the MNIST model), pictures are read as drawings (mnist.load_drawing): in
    grey levels, light ones inverted to light ink on black.
    """
    if source.startswith(DRAWN_PREFIX):
        image = draw_digit(int(source[len(DRAWN_PREFIX):]), size)
    elif source.startswith((MNIST_PREFIX, TEST_PREFIX)):
        if mnist_data is None:
            raise UserError(f"input {source} needs the prepared data")
        digits = MNIST.load(mnist_data).test_images
        index = int(source.partition(":")[2])
        if not 0 <= index < len(digits):
            what = "digits" if source.startswith(MNIST_PREFIX) else "images"
            raise UserError(f"input {source}: the test split has {len(digits)} {what}")
        image = F.interpolate(as_float(digits[index:index + 1]), size=(size, size),
                              mode="bilinear", antialias=True, align_corners=False)
    elif dark_background:
        image = load_drawing(source, size)
    else:
        image = load_image(source, size, channels)
    return image.expand(1, channels, size, size).clamp(0, 1).contiguous()


def save_input(image: torch.Tensor, path: str | Path) -> None:
    """An input image [1, C, H, W] in [0, 1] as an 8-bit PNG, the form every job reads back."""
    array = (image[0].permute(1, 2, 0) * 255).round().byte().numpy()
    Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array).save(path)


def read_input(backend: DenoiserBackend, path: str | Path) -> torch.Tensor:
    """A prepared input PNG in model space."""
    return backend.to_model(load_image(str(path), backend.image_size, backend.channels))


# Jobs ---------------------------------------------------------------------------------------


def sampling(backend, prompts, num_inference_steps, guidance, seed, out_figure, out_images):
    """0: the model's own sampler at several step counts; the images (model space) are kept
    for stage II."""
    cond, uncond = backend.encode_prompts(prompts), backend.null_embedding()
    # The same noise for every step count, so the columns differ by the step count only.
    images = [backend.text_to_image(cond, uncond, steps, guidance, generator(seed)).cpu()
              for steps in num_inference_steps]
    _sampling_figure(backend, images, prompts, num_inference_steps, out_figure,
                     "stage I" if backend.has_upsampler else f"{backend.name} model")
    torch.save({"images": torch.stack(images), "prompts": list(prompts),
                "num_inference_steps": list(num_inference_steps)}, out_images)


def upsampling(backend, stage_1, seed, out_figure):
    """0: stage II upsamples each stage I image under its own prompt."""
    saved = read_torch_dict(stage_1, ("images", "prompts", "num_inference_steps"),
                            "part A's stage I samples")
    prompts, steps = saved["prompts"], saved["num_inference_steps"]
    cond, uncond = backend.encode_prompts(prompts), backend.null_embedding()
    images = [backend.upsample(x.to(backend.device), cond, uncond, generator(seed))
              for x in saved["images"]]
    _sampling_figure(backend, images, prompts, steps, out_figure, "stage II (upsampled)")


def _sampling_figure(backend, images, prompts, steps, out, stage):
    by_prompt = [[backend.to_unit(column[p]) for column in images] for p in range(len(prompts))]
    figures.sampling_figure(by_prompt, prompts, steps, stage, out)


def noisy_versions(backend, x0, noise_levels, seed) -> tuple[list[int], list[torch.Tensor]]:
    """The test image at each noise level (scaled to the backend), from one seeded generator."""
    ts = [backend.scale_timestep(t) for t in noise_levels]
    g = generator(seed)
    return ts, [forward(backend, x0, t, g) for t in ts]


def forward_process(backend, image, noise_levels, seed, out_figure):
    """1.1: x_t of the test image at each noise level."""
    ts, noisy = noisy_versions(backend, image, noise_levels, seed)
    figures.forward_figure(backend.to_unit(image), [backend.to_unit(x) for x in noisy], ts,
                           out_figure)


def denoising(backend, image, noise_levels, blur, prompt, seed, out_blur, out_one_step):
    """1.2 (Gaussian blur) and 1.3 (one-step denoising) of the noisy images of 1.1."""
    ts, noisy = noisy_versions(backend, image, noise_levels, seed)
    estimator = guided(backend, backend.encode_prompts([prompt]))
    blurred = [lowpass(x, blur["kernel_size"], blur["sigma"]) for x in noisy]
    one_step = [one_step_denoise(backend, x, t, estimator) for x, t in zip(noisy, ts,
                                                                          strict=True)]
    labels = [figures.t_label(t) for t in ts]
    unit = backend.to_unit
    figures.denoising_figure(
        [("noisy", [unit(x) for x in noisy]), ("Gaussian blur", [unit(x) for x in blurred])],
        labels, out_blur,
        f"classical denoising: Gaussian blur, kernel {blur['kernel_size']}, sigma {blur['sigma']}",
    )
    figures.denoising_figure(
        [("noisy", [unit(x) for x in noisy]), ("one-step", [unit(x) for x in one_step])],
        labels, out_one_step, f"one-step denoising with \"{prompt}\"",
    )


def iterative(backend, image, stride, i_start, show_every, blur, prompt, seed, out_strip,
              out_compare):
    """1.4: iterative denoising from timesteps[i_start], beside one-step and blur."""
    timesteps = backend.strided_timesteps(stride)
    t = timesteps[i_start]
    g = generator(seed)
    x_t = forward(backend, image, t, g)
    estimator = guided(backend, backend.encode_prompts([prompt]))
    clean, frames = iterative_denoise(backend, x_t, timesteps, estimator, g, i_start=i_start,
                                      keep_every=show_every)
    unit = backend.to_unit
    figures.strip_figure([(s, unit(x)) for s, x in frames], out_strip,
                         f"iterative denoising from t = {t}, every {show_every}th step")
    compare = [unit(image), unit(x_t), unit(clean),
               unit(one_step_denoise(backend, x_t, t, estimator)),
               unit(lowpass(x_t, blur["kernel_size"], blur["sigma"]))]
    figures.denoising_figure(
        [("", compare)],
        ["original", figures.t_label(t), "iterative", "one-step", "Gaussian blur"],
        out_compare, "iterative vs one-step vs classical denoising",
    )


def samples(backend, prompt, num_samples, stride, guidance, seed, out_figure):
    """1.5 (guidance None: the conditional model alone) and 1.6 (classifier-free guidance)."""
    cond = backend.encode_prompts([prompt])
    if guidance is None:
        estimator, title = guided(backend, cond), f"\"{prompt}\""
    else:
        estimator = guided(backend, cond, backend.null_embedding(), guidance)
        title = f"\"{prompt}\", CFG scale {guidance:g}"
    images, _ = sample(backend, num_samples, backend.strided_timesteps(stride), estimator,
                       generator(seed))
    figures.samples_figure(backend.to_unit(images), out_figure, title)


def edits(backend, images: Mapping[str, torch.Tensor], prompt, i_starts, stride, guidance, seed,
          out_figure, title):
    """1.7, 1.7.1, 1.7.3: SDEdit of each image at every i_start, under `prompt` with CFG."""
    timesteps = backend.strided_timesteps(stride)
    estimator = guided(backend, backend.encode_prompts([prompt]), backend.null_embedding(),
                       guidance)
    rows = []
    for k, (name, image) in enumerate(images.items()):
        edited = sdedit(backend, image, timesteps, i_starts, estimator, generator(seed + k))
        rows.append((name, backend.to_unit(image), [backend.to_unit(x) for x in edited]))
    figures.sdedit_figure(rows, i_starts, timesteps, out_figure,
                          f"{title}: \"{prompt}\", CFG {guidance:g}")


def inpainting(backend, image, box, prompt, stride, guidance, seed, out_figure):
    """1.7.2: new content inside the box, the original everywhere else."""
    mask = box_mask(backend.image_size, box).to(backend.device)
    estimator = guided(backend, backend.encode_prompts([prompt]), backend.null_embedding(),
                       guidance)
    result = inpaint(backend, image, mask, backend.strided_timesteps(stride), estimator,
                     generator(seed))
    figures.inpainting_figure(backend.to_unit(image), mask.cpu(), backend.to_unit(result),
                              out_figure, f"inpainting: \"{prompt}\", CFG {guidance:g}")


def _save_illusion(images, path, **meta) -> None:
    torch.save({"images": images.contiguous(), **meta}, path)


def visual_anagram(backend, prompts, views, num_samples, stride, guidance, seed, out_figure,
                   out_images):
    """1.8 and more views: each prompt shows under its view."""
    view_objects = [get_view(v) for v in views]
    estimator = anagram(backend, list(backend.encode_prompts(prompts).split(1)), view_objects,
                        backend.null_embedding(), guidance)
    images, _ = sample(backend, num_samples, backend.strided_timesteps(stride), estimator,
                       generator(seed))
    unit = backend.to_unit(images)
    figures.anagram_figure(unit, view_objects, prompts, out_figure)
    _save_illusion(unit, out_images, prompts=list(prompts), views=list(views))


def hybrid(backend, prompts, kernel_sizes, sigmas, num_samples, stride, guidance, seed,
           out_figure, out_images):
    """1.9: low frequencies from the first prompt, high ones from the last (three-way: a
    middle band from the middle prompt)."""
    bands = functools.partial(frequency_bands, kernel_sizes=kernel_sizes, sigmas=sigmas)
    estimator = factorized(backend, list(backend.encode_prompts(prompts).split(1)), bands,
                           backend.null_embedding(), guidance)
    images, _ = sample(backend, num_samples, backend.strided_timesteps(stride), estimator,
                       generator(seed))
    unit = backend.to_unit(images)
    figures.hybrid_figure(unit, prompts, out_figure)
    _save_illusion(unit, out_images, prompts=list(prompts), kernel_sizes=list(kernel_sizes),
                   sigmas=list(sigmas))


JOBS = {
    "sampling": sampling,
    "upsampling": upsampling,
    "forward": forward_process,
    "denoising": denoising,
    "iterative": iterative,
    "samples": samples,
    "edits": edits,
    "inpainting": inpainting,
    "anagram": visual_anagram,
    "hybrid": hybrid,
}


# Running a job from a rule --------------------------------------------------------------------


def run(job: str, backend: Mapping, device: str, inputs: Mapping, outputs: Mapping, args: Mapping):
    """Open the backend and run one job with the rule's files and settings.

    `inputs` holds the backend's model files (embeddings for DeepFloyd, checkpoint for MNIST),
    `images` (prepared input PNGs, named by file stem) and any other file a job reads;
    `outputs` the files it writes, by name: output `figure` is the job's `out_figure`. Jobs
    that take `image` get the only input image, jobs that take `images` all of them by name.
    """
    fn = JOBS[job]
    model_files = {k: inputs[k] for k in ("embeddings", "checkpoint") if k in inputs}
    opened = open_backend({**backend, **model_files}, device)
    images = {Path(p).stem: read_input(opened, p) for p in inputs.get("images", [])}
    files = {k: v for k, v in inputs.items() if k not in {*model_files, "images", "code"}}
    wants = inspect.signature(fn).parameters
    if "image" in wants:
        if len(images) != 1:
            raise UserError(f"part A job {job} takes one input image, not {len(images)}")
        files["image"] = next(iter(images.values()))
    if "images" in wants:
        files["images"] = images
    fn(opened, **files, **{f"out_{k}": v for k, v in outputs.items()}, **args)
