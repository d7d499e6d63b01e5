"""Glue between the config and the rules: what each job needs, as plain values.

The Snakefile passes these values as `params:` so that Snakemake reruns exactly the jobs whose
settings changed.
"""

from __future__ import annotations

from .config import ConfigError

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
        settings.update(
            lr_decay_total=section["lr_decay_total"],
            num_steps=schedule["num_steps"],
            beta_start=schedule["beta_start"],
            beta_end=schedule["beta_end"],
        )
    if model == "class":
        settings["p_uncond"] = section["p_uncond"]
    return settings


def check_config(config: dict) -> None:
    """Checks across keys that a JSON schema cannot express; raises ConfigError."""
    part_b = config["part_b"]
    for model in MODELS:
        section = part_b[model]
        key = "figure_epochs" if model == "denoiser" else "sample_epochs"
        late = [e for e in section[key] if e > section["epochs"]]
        if late:
            raise ConfigError(
                f"invalid config: config key part_b.{model}.{key}: epochs {late} come after the "
                f"last training epoch (part_b.{model}.epochs = {section['epochs']})"
            )
    schedule = part_b["schedule"]
    if schedule["beta_start"] > schedule["beta_end"]:
        raise ConfigError(
            "invalid config: config key part_b.schedule.beta_start: must not exceed beta_end"
        )
