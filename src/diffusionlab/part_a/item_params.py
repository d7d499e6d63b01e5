"""Glue between the `part_a` config section and the rules of rules/part_a.smk, as plain values.

Every file part A makes lives under results/part_a/<backend>/; `figures(config, backend)` lists
them in the order of the exercise. `check(config)` catches what the JSON schema cannot: names
that must refer to each other, prompts a backend cannot read, timesteps out of range.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from ..config import ConfigError
from .digit_prompts import prompt_digit
from .timesteps import strided_timesteps

BACKENDS = ("deepfloyd", "mnist")
RESULTS = "results/part_a"
# Inputs are prepared at the size and channels of each backend's images (stage I of IF: 64).
INPUT_SHAPES = {"deepfloyd": (64, 3), "mnist": (28, 1)}
NUM_STEPS = {"deepfloyd": 1000}  # mnist: part_b.schedule.num_steps
EDITS = {  # edit figure -> (images key, prompt key, title)
    "sdedit": ("sdedit_images", "prompt", "SDEdit"),
    "sdedit_web_drawn": ("web_and_drawn_images", "prompt", "SDEdit of web and hand-drawn images"),
    "text_sdedit": ("text_sdedit_images", "edit_prompt", "text-guided SDEdit"),
}
ILLUSIONS = {"anagram": "anagrams", "view": "more_views", "hybrid": "hybrids"}
# Images fetched from URLs, once for every backend and job (rule part_a_download).
DOWNLOADS = f"{RESULTS}/downloads"
URL_PREFIXES = ("http://", "https://")
# Sources that read no file of the user's: a drawn digit, a test digit (the prepared data, an
# input of its own), a photo inside the scikit-image wheel.
BUILT_IN_PREFIXES = ("drawn:", "mnist:", "skimage:")


def path(backend: str, name: str) -> str:
    return f"{RESULTS}/{backend}/{name}"


def input_path(backend: str, name: str) -> str:
    return path(backend, f"inputs/{name}.png")


def download_path(url: str) -> str:
    """Where the image at `url` is cached, as PNG: the URL's file stem and a digest of it all."""
    stem = PurePosixPath(urlsplit(url).path).stem or "image"
    return f"{DOWNLOADS}/{stem}-{hashlib.sha256(url.encode()).hexdigest()[:12]}.png"


def source_file(source: str) -> str | None:
    """The file an image source is read from, which the job that prepares it takes as input:
    the cached download of a URL, a local path itself, None for the built-in sources."""
    if source.startswith(URL_PREFIXES):
        return download_path(source)
    if source.startswith(BUILT_IN_PREFIXES):
        return None
    return source


def downloads(config: dict) -> dict[str, str]:
    """{cached file: URL} of every URL among the images of the backends in part_a.backends."""
    part_a = config["part_a"]
    return {
        download_path(source): source
        for backend in part_a["backends"]
        for source in part_a[backend]["images"].values()
        if source.startswith(URL_PREFIXES)
    }


def prompts(section: dict) -> list[str]:
    """Every prompt a backend section uses, each once, and the null prompt "" (the prompts
    whose T5 embeddings DeepFloyd needs)."""
    prompts = list(section["sampling"]["prompts"])
    prompts += [section["prompt"], section["cfg_prompt"], section["edit_prompt"]]
    for key in ILLUSIONS.values():
        for item in section[key]:
            prompts += item["prompts"]
    return list(dict.fromkeys(prompts + [""]))


def backend_spec(config: dict, backend: str) -> dict:
    """What a job needs to open the backend, apart from its model files (rule inputs)."""
    if backend == "deepfloyd":
        section = config["part_a"]["deepfloyd"]
        return {"name": "deepfloyd", "stage_1": section["stage_1"],
                "stage_2": section["stage_2"], "cpu_offload": section["cpu_offload"],
                "upsample": section["upsample"]}
    return {"name": "mnist", "variance": config["part_a"]["mnist"]["variance"],
            "precision": config["performance"]["sample_precision"]}


def _item(figure: str) -> tuple[str, int | None]:
    """"hybrid_2" -> ("hybrid", 2); "forward" -> ("forward", None)."""
    kind, _, k = figure.rpartition("_")
    return (kind, int(k)) if k.isdigit() else (figure, None)


def job_args(config: dict, backend: str, figure: str) -> dict:
    """The settings of the job that makes `figure` (a file stem of `figures`) of a backend."""
    part_a, section = config["part_a"], config["part_a"][backend]
    kind, k = _item(figure)
    seed, stride, guidance = config["seed"], part_a["stride"], section["guidance"]
    if kind == "sampling":
        return {"prompts": section["sampling"]["prompts"], "guidance": guidance, "seed": seed,
                "num_inference_steps": section["sampling"]["num_inference_steps"]}
    if kind == "sampling_upsampled":
        return {"seed": seed}
    if kind == "forward":
        return {"noise_levels": part_a["noise_levels"], "seed": seed}
    if kind == "denoising":
        return {"noise_levels": part_a["noise_levels"], "blur": section["blur"],
                "prompt": section["prompt"], "seed": seed}
    if kind == "iterative":
        return {"stride": stride, "i_start": part_a["i_start"], "blur": section["blur"],
                "show_every": part_a["show_every"], "prompt": section["prompt"], "seed": seed}
    if kind in ("samples", "cfg_samples"):
        cfg = kind == "cfg_samples"
        return {"prompt": section["cfg_prompt" if cfg else "prompt"], "seed": seed,
                "num_samples": part_a["num_samples"], "stride": stride,
                "guidance": guidance if cfg else None}
    if kind in EDITS:
        _, prompt_key, title = EDITS[kind]
        return {"prompt": section[prompt_key], "i_starts": part_a["i_starts"], "stride": stride,
                "guidance": guidance, "seed": seed, "title": title}
    if kind == "inpainting":
        return {"box": section["inpainting"][k]["box"], "prompt": section["prompt"],
                "stride": stride, "guidance": guidance, "seed": seed}
    item = section[ILLUSIONS[kind]][k]
    args = {"prompts": item["prompts"], "num_samples": section["illusion_samples"],
            "stride": stride, "guidance": guidance, "seed": seed}
    if kind == "hybrid":
        return {**args, "kernel_sizes": item["kernel_sizes"], "sigmas": item["sigmas"]}
    return {**args, "views": item["views"]}


def job_images(config: dict, backend: str, figure: str) -> list[str]:
    """Names of the input images the job behind `figure` reads."""
    section = config["part_a"][backend]
    kind, k = _item(figure)
    if kind in ("forward", "denoising", "iterative"):
        return [section["test_image"]]
    if kind in EDITS:
        return list(section[EDITS[kind][0]])
    if kind == "inpainting":
        return [section["inpainting"][k]["image"]]
    return []


def figures(config: dict, backend: str) -> list[str]:
    """Every file part A makes for one backend, in the order of the exercise."""
    section = config["part_a"][backend]
    files = [path(backend, "sampling.png")]
    if backend == "deepfloyd":
        files.append(path(backend, "sampling_upsampled.png"))
    files += [path(backend, f"{name}.png") for name in (
        "forward", "blur", "one_step", "iterative", "iterative_compare", "samples",
        "cfg_samples", "sdedit", "sdedit_web_drawn")]
    files += [path(backend, f"inpainting_{k}.png") for k in range(len(section["inpainting"]))]
    files.append(path(backend, "text_sdedit.png"))
    for kind, key in ILLUSIONS.items():
        for k in range(len(section[key])):
            files += [path(backend, f"{kind}_{k}.png"), path(backend, f"{kind}_{k}.pt")]
    return files


def _fail(key: str, message: str) -> None:
    raise ConfigError(f"invalid config: config key part_a.{key}: {message}")


def check(config: dict) -> None:
    """Checks across keys that the schema cannot express; raises ConfigError."""
    part_a = config["part_a"]
    for backend in part_a["backends"]:
        section = part_a[backend]
        num_steps = NUM_STEPS.get(backend, config["part_b"]["schedule"]["num_steps"])
        timesteps = strided_timesteps(num_steps, part_a["stride"])
        late = [i for i in [part_a["i_start"], *part_a["i_starts"]] if i >= len(timesteps) - 1]
        if late:
            _fail("i_starts", f"start indices {late} leave no step among the "
                  f"{len(timesteps)} strided timesteps of the {backend} model")
        names = set(section["images"])
        used = [section["test_image"], *(i["image"] for i in section["inpainting"])]
        for key, _, _ in EDITS.values():
            used += section[key]
        unknown = sorted(set(used) - names)
        if unknown:
            _fail(f"{backend}.images", f"images {unknown} are used but not defined")
        for key in ("anagrams", "more_views"):
            for k, item in enumerate(section[key]):
                if len(item["prompts"]) != len(item["views"]):
                    _fail(f"{backend}.{key}[{k}]", "give one prompt per view")
        for k, item in enumerate(section["hybrids"]):
            if len(item["prompts"]) != len(item["sigmas"]) + 1:
                _fail(f"{backend}.hybrids[{k}]", "n + 1 prompts need n blur sigmas")
            if item["sigmas"] != sorted(item["sigmas"], reverse=True):
                _fail(f"{backend}.hybrids[{k}]", "sigmas go from the widest blur down")
            if len(item["kernel_sizes"]) != len(item["sigmas"]):
                _fail(f"{backend}.hybrids[{k}]", "give one kernel size per sigma")
        if backend == "mnist":
            too_many = [n for n in section["sampling"]["num_inference_steps"] if n >= num_steps]
            if too_many:
                _fail("mnist.sampling.num_inference_steps", f"{too_many} must stay below the "
                      f"{num_steps} steps of the MNIST model (part_b.schedule.num_steps)")
            for prompt in prompts(section):
                try:
                    prompt_digit(prompt)
                except ValueError as err:
                    _fail("mnist", str(err))

