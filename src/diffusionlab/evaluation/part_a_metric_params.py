"""Glue between the config and the rules of part A's metrics, as plain values (no torch).

Part A is judged on the MNIST backend only, whose images the evaluation's classifier can read;
without "mnist" in part_a.backends there is nothing to judge and `files` is empty. Each metric
takes the settings of the part A job behind the figure it judges (part_a.item_params.job_args:
prompts, views or blurs, stride, guidance, seed); only the number of images differs
(evaluation.illusions.samples, evaluation.sdedit.digits).
"""

from __future__ import annotations

from ..part_a import item_params as part_a
from ..part_a.digit_prompts import prompt_digit

BACKEND = "mnist"
FOLDER = "results/evaluation/part_a"
# Output name of each rule -> file name under FOLDER.
ILLUSION_OUTPUTS = {
    "scores": "illusion_scores.csv",
    "views": "illusion_views.csv",
    "table": "illusions.csv",
    "view_types": "illusion_view_types.csv",
    "figure": "illusions.png",
}
SDEDIT_OUTPUTS = {"table": "sdedit.csv", "figure": "sdedit.png"}


def enabled(config: dict) -> bool:
    return BACKEND in config["part_a"]["backends"]


def outputs(names: dict[str, str]) -> dict[str, str]:
    """A rule's outputs by name, as paths."""
    return {name: f"{FOLDER}/{file}" for name, file in names.items()}


def files(config: dict) -> dict[str, str]:
    """Every file of part A's metrics, by name (illusions_table, sdedit_figure, ...); {} when
    the MNIST backend is not run."""
    if not enabled(config):
        return {}
    return {
        **{f"illusions_{k}": v for k, v in outputs(ILLUSION_OUTPUTS).items()},
        **{f"sdedit_{k}": v for k, v in outputs(SDEDIT_OUTPUTS).items()},
    }


def illusion_items(config: dict) -> list[str]:
    """File stems of the MNIST illusion figures that are judged (anagram_0, view_2, hybrid_1,
    ...): every item of anagrams, more_views and hybrids whose prompts all name a digit (a view
    under the null prompt has no digit to look for)."""
    section = config["part_a"][BACKEND]
    return [
        f"{kind}_{k}"
        for kind, key in part_a.ILLUSIONS.items()
        for k, item in enumerate(section[key])
        if all(prompt_digit(p) is not None for p in item["prompts"])
    ]


def illusion_jobs(config: dict) -> list[dict]:
    """One entry per judged figure: item (its stem), figure (its path), kind (anagram or
    hybrid), targets (the digit of each prompt) and the settings of part A's job that made the
    figure, less its number of samples."""
    jobs = []
    for item in illusion_items(config):
        args = part_a.job_args(config, BACKEND, item)
        del args["num_samples"]
        jobs.append({
            "item": item,
            "figure": part_a.path(BACKEND, f"{item}.png"),
            "kind": "hybrid" if "sigmas" in args else "anagram",
            "targets": [prompt_digit(p) for p in args["prompts"]],
            **args,
        })
    return jobs


def judges_figure_images(config: dict) -> bool:
    """Whether part A's own illusion images (saved beside the figures) are enough to judge:
    the figures hold at least evaluation.illusions.samples images each."""
    samples = config["evaluation"]["illusions"]["samples"]
    return config["part_a"][BACKEND]["illusion_samples"] >= samples


def figure_images(config: dict) -> list[str]:
    """The tensor files of part A's illusion figures, in the order of `illusion_jobs`."""
    return [part_a.path(BACKEND, f"{item}.pt") for item in illusion_items(config)]


def _common(config: dict) -> dict:
    return {
        "backend": part_a.backend_spec(config, BACKEND),
        "batch_size": config["evaluation"]["batch_size"],
        "device": config["device"],
    }


def illusion_args(config: dict) -> dict:
    """The settings of the illusions rule."""
    return {
        "jobs": illusion_jobs(config),
        "samples": config["evaluation"]["illusions"]["samples"],
        **_common(config),
    }


def sdedit_args(config: dict) -> dict:
    """The settings of the SDEdit rule: those of part A's SDEdit figure (1.7) and the number of
    test digits edited."""
    args = part_a.job_args(config, BACKEND, "sdedit")
    del args["title"]
    return {**args, "digits": config["evaluation"]["sdedit"]["digits"], **_common(config)}
