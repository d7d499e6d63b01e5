"""Glue between the `part_a` config section and the rules of rules/part_a.smk, as plain values.

Every file part A makes lives under results/part_a/<backend>/; `figures(config, backend)` lists
them in the order of the exercise. `check(config)` catches what the JSON schema cannot: names
that must refer to each other, prompts a backend cannot read, timesteps out of range.

Backends are the built-in `deepfloyd` and `mnist` (settings part_a.<backend>) and any class run
of the deep dive (deep_dive.run, kind class; settings part_a.datasets.<name>): its last
checkpoint, its data set's class names as prompts and its test images as inputs.
"""

from __future__ import annotations

import hashlib
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from ..config import ConfigError
from ..data.layout import known_class_names
from .class_prompts import prompt_class
from .digit_prompts import prompt_digit
from .timesteps import strided_timesteps

BACKENDS = ("deepfloyd", "mnist")  # built in; data set backends come from the config
RESULTS = "results/part_a"
# Inputs are prepared at the size and channels of each backend's images (stage I of IF: 64); a
# data set backend's at those of its prepared data (data.json).
INPUT_SHAPES = {"deepfloyd": (64, 3), "mnist": (28, 1)}
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
BUILT_IN_PREFIXES = ("drawn:", "mnist:", "test:", "skimage:")


def is_dataset(backend: str) -> bool:
    """Whether a backend is a deep dive data set's class model (not a built-in backend)."""
    return backend not in BACKENDS


def backends(config: dict) -> list[str]:
    """The backends part A runs on (part_a.backends)."""
    return list(config["part_a"]["backends"])


def section_key(backend: str) -> str:
    """The config key of a backend's settings below part_a."""
    return f"datasets.{backend}" if is_dataset(backend) else backend


def section(part_a: dict, backend: str) -> dict:
    """A backend's settings, from the part_a section of the config."""
    return part_a["datasets"][backend] if is_dataset(backend) else part_a[backend]


def num_steps(config: dict, backend: str) -> int:
    """T of a backend's model."""
    if backend == "deepfloyd":
        return 1000
    if is_dataset(backend):
        return config["deep_dive"]["models"][backend]["num_steps"]
    return config["part_b"]["schedule"]["num_steps"]


def last_epoch(config: dict, backend: str) -> int:
    """The epoch of a data set backend's checkpoint: its run's last."""
    return config["deep_dive"]["models"][backend]["epochs"]


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
        for source in section(part_a, backend)["images"].values()
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


def cpu_offload(config: dict) -> bool:
    """part_a.deepfloyd.cpu_offload. Jobs read it from the config, never from a param: it changes
    nothing the models compute, yet a changed param reruns a job."""
    return config["part_a"]["deepfloyd"]["cpu_offload"]


def runtime_backend(config: dict, spec: dict) -> dict:
    """A job's backend_spec with the settings no param holds (DeepFloyd's cpu_offload)."""
    return {**spec, "cpu_offload": cpu_offload(config)} if spec["name"] == "deepfloyd" else spec


def backend_spec(config: dict, backend: str) -> dict:
    """What a job needs to open the backend, apart from its model files (rule inputs) and
    cpu_offload (runtime_backend adds it)."""
    if backend == "deepfloyd":
        settings = config["part_a"]["deepfloyd"]
        return {"name": "deepfloyd", "stage_1": settings["stage_1"],
                "stage_2": settings["stage_2"], "upsample": settings["upsample"]}
    spec = {"name": "mnist", "variance": section(config["part_a"], backend)["variance"],
            "precision": config["performance"]["sample_precision"]}
    if is_dataset(backend):
        spec.update(name="classes", dataset=backend, epoch=last_epoch(config, backend))
    return spec


def _item(figure: str) -> tuple[str, int | None]:
    """"hybrid_2" -> ("hybrid", 2); "forward" -> ("forward", None)."""
    kind, _, k = figure.rpartition("_")
    return (kind, int(k)) if k.isdigit() else (figure, None)


def job_args(config: dict, backend: str, figure: str) -> dict:
    """The settings of the job that makes `figure` (a file stem of `figures`) of a backend."""
    part_a = config["part_a"]
    settings = section(part_a, backend)
    kind, k = _item(figure)
    seed, stride, guidance = config["seed"], part_a["stride"], settings["guidance"]
    if kind == "sampling":
        return {"prompts": settings["sampling"]["prompts"], "guidance": guidance, "seed": seed,
                "num_inference_steps": settings["sampling"]["num_inference_steps"]}
    if kind == "sampling_upsampled":
        return {"seed": seed}
    if kind == "forward":
        return {"noise_levels": part_a["noise_levels"], "seed": seed}
    if kind == "denoising":
        return {"noise_levels": part_a["noise_levels"], "blur": settings["blur"],
                "prompt": settings["prompt"], "seed": seed}
    if kind == "iterative":
        return {"stride": stride, "i_start": part_a["i_start"], "blur": settings["blur"],
                "show_every": part_a["show_every"], "prompt": settings["prompt"], "seed": seed}
    if kind in ("samples", "cfg_samples"):
        cfg = kind == "cfg_samples"
        return {"prompt": settings["cfg_prompt" if cfg else "prompt"], "seed": seed,
                "num_samples": part_a["num_samples"], "stride": stride,
                "guidance": guidance if cfg else None}
    if kind in EDITS:
        _, prompt_key, title = EDITS[kind]
        return {"prompt": settings[prompt_key], "i_starts": part_a["i_starts"], "stride": stride,
                "guidance": guidance, "seed": seed, "title": title}
    if kind == "inpainting":
        return {"box": settings["inpainting"][k]["box"], "prompt": settings["prompt"],
                "stride": stride, "guidance": guidance, "seed": seed}
    item = settings[ILLUSIONS[kind]][k]
    args = {"prompts": item["prompts"], "num_samples": settings["illusion_samples"],
            "stride": stride, "guidance": guidance, "seed": seed}
    if kind == "hybrid":
        return {**args, "kernel_sizes": item["kernel_sizes"], "sigmas": item["sigmas"]}
    return {**args, "views": item["views"]}


def job_images(config: dict, backend: str, figure: str) -> list[str]:
    """Names of the input images the job behind `figure` reads."""
    settings = section(config["part_a"], backend)
    kind, k = _item(figure)
    if kind in ("forward", "denoising", "iterative"):
        return [settings["test_image"]]
    if kind in EDITS:
        return list(settings[EDITS[kind][0]])
    if kind == "inpainting":
        return [settings["inpainting"][k]["image"]]
    return []


def figures(config: dict, backend: str) -> list[str]:
    """Every file part A makes for one backend, in the order of the exercise."""
    settings = section(config["part_a"], backend)
    files = [path(backend, "sampling.png")]
    if backend == "deepfloyd":
        files.append(path(backend, "sampling_upsampled.png"))
    files += [path(backend, f"{name}.png") for name in (
        "forward", "blur", "one_step", "iterative", "iterative_compare", "samples",
        "cfg_samples", "sdedit", "sdedit_web_drawn")]
    files += [path(backend, f"inpainting_{k}.png") for k in range(len(settings["inpainting"]))]
    files.append(path(backend, "text_sdedit.png"))
    for kind, key in ILLUSIONS.items():
        for k in range(len(settings[key])):
            files += [path(backend, f"{kind}_{k}.png"), path(backend, f"{kind}_{k}.pt")]
    return files


def _fail(key: str, message: str) -> None:
    raise ConfigError(f"invalid config: config key part_a.{key}: {message}")


def prompt_keys(settings: dict) -> list[tuple[str, str]]:
    """(key below the backend's settings, prompt) for every prompt of a backend."""
    keys = [("sampling.prompts", p) for p in settings["sampling"]["prompts"]]
    keys += [(key, settings[key]) for key in ("prompt", "cfg_prompt", "edit_prompt")]
    for key in ILLUSIONS.values():
        keys += [(f"{key}[{k}].prompts", p) for k, item in enumerate(settings[key])
                 for p in item["prompts"]]
    return keys


def _check_dataset(config: dict, backend: str, index: int) -> None:
    """A data set backend (part_a.backends[index]) is a class run of the deep dive with settings
    under part_a.datasets; its prompts name classes of its data set where the source fixes
    them."""
    run = config.get("deep_dive", {}).get("run", [])
    key = f"backends[{index}]"
    if backend not in run:
        _fail(key, f"{backend!r} is neither deepfloyd, mnist nor a run of deep_dive.run "
              f"(runs: {', '.join(run) or 'none'})")
    if config["deep_dive"]["models"][backend]["kind"] != "class":
        _fail(key, f"{backend!r}: part A needs a class-conditioned model "
              f"(deep_dive.models.{backend}.kind: class)")
    if backend not in config["part_a"].get("datasets", {}):
        _fail(key, f"{backend!r} has no settings under part_a.datasets")
    names = known_class_names(config["datasets"][backend])
    if names is None:
        return
    for key, prompt in prompt_keys(section(config["part_a"], backend)):
        try:
            prompt_class(prompt, names, f"the {backend} model")
        except ValueError as err:
            _fail(f"datasets.{backend}.{key}", str(err))


def check(config: dict) -> None:
    """Checks across keys that the schema cannot express; raises ConfigError."""
    part_a = config["part_a"]
    for index, backend in enumerate(part_a["backends"]):
        if is_dataset(backend):
            _check_dataset(config, backend, index)
        settings, key = section(part_a, backend), section_key(backend)
        steps = num_steps(config, backend)
        timesteps = strided_timesteps(steps, part_a["stride"])
        late = [i for i in [part_a["i_start"], *part_a["i_starts"]] if i >= len(timesteps) - 1]
        if late:
            _fail("i_starts", f"start indices {late} leave no step among the "
                  f"{len(timesteps)} strided timesteps of the {backend} model")
        names = set(settings["images"])
        used = [settings["test_image"], *(i["image"] for i in settings["inpainting"])]
        for images_key, _, _ in EDITS.values():
            used += settings[images_key]
        unknown = sorted(set(used) - names)
        if unknown:
            _fail(f"{key}.images", f"images {unknown} are used but not defined")
        for list_key in ("anagrams", "more_views"):
            for k, item in enumerate(settings[list_key]):
                if len(item["prompts"]) != len(item["views"]):
                    _fail(f"{key}.{list_key}[{k}]", "give one prompt per view")
        for k, item in enumerate(settings["hybrids"]):
            if len(item["prompts"]) != len(item["sigmas"]) + 1:
                _fail(f"{key}.hybrids[{k}]", "n + 1 prompts need n blur sigmas")
            if item["sigmas"] != sorted(item["sigmas"], reverse=True):
                _fail(f"{key}.hybrids[{k}]", "sigmas go from the widest blur down")
            if len(item["kernel_sizes"]) != len(item["sigmas"]):
                _fail(f"{key}.hybrids[{k}]", "give one kernel size per sigma")
        if backend != "deepfloyd":
            too_many = [n for n in settings["sampling"]["num_inference_steps"] if n >= steps]
            if too_many:
                model, where = ((backend, f"deep_dive.models.{backend}.num_steps")
                                if is_dataset(backend) else ("MNIST", "part_b.schedule.num_steps"))
                _fail(f"{key}.sampling.num_inference_steps", f"{too_many} must stay below the "
                      f"{steps} steps of the {model} model ({where})")
        if backend == "mnist":
            for prompt in prompts(settings):
                try:
                    prompt_digit(prompt)
                except ValueError as err:
                    _fail("mnist", str(err))
