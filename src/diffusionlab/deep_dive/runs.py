"""The deep dive's config as job values: which data sets run, with which model and settings.

`deep_dive.run` names the runs; each is a data set of `datasets:` and has its settings under
`deep_dive.models.<name>`. Everything here is plain data and cheap to import (no torch): the
rules call it while Snakemake parses them.
"""

from __future__ import annotations

import math

from ..config import ConfigError

# A run's settings that describe its network (diffusionlab.models.model_spec's keywords; the
# data set gives the channels, the image size and the classes). model_spec checks them when
# the training job builds the model: importing torch here would slow every Snakemake command.
MODEL_KEYS = ("arch", "hidden", "widths", "layers_per_block", "attention_resolutions",
              "norm_groups")
# Training settings of a run that TrainSettings takes as they are.
TRAIN_KEYS = ("epochs", "batch_size", "lr", "lr_schedule", "ema_decay", "num_steps",
              "beta_start", "beta_end")
# Strips of the "detailed sampling" figure show x_t at about this many evenly spaced steps, and
# the sampling animations these frames.
STRIP_STEPS = 20


def runs(config: dict) -> list[str]:
    """The names of the data sets the deep dive runs, in the order of deep_dive.run."""
    return list(config.get("deep_dive", {}).get("run", []))


def latent_runs(config: dict) -> list[str]:
    """The runs of latent.run: deep dive runs whose DDPM is also trained on latents."""
    return list(config.get("latent", {}).get("run", []))


def run_settings(config: dict, name: str) -> dict:
    return config["deep_dive"]["models"][name]


def latent_run_settings(config: dict, name: str) -> dict:
    """The latent DDPM's settings: its pixel twin's, but for latent.models.<name>.epochs when
    set (null: the twin's epochs, so that both see as many images); sampled epochs beyond it
    are dropped, the last is always sampled."""
    settings = run_settings(config, name)
    epochs = config["latent"]["models"][name].get("epochs")
    if epochs is None:
        return settings
    return {**settings, "epochs": epochs,
            "sample_epochs": [e for e in settings["sample_epochs"] if e <= epochs]}


def fid_setting(config: dict) -> str:
    """deep_dive.fid as the metrics job takes it: auto or off (YAML reads a bare `off` as
    false, which the schema allows for it)."""
    return "off" if config["deep_dive"]["fid"] in (False, "off") else "auto"


def spec_options(settings: dict) -> dict:
    """The model spec's architecture settings of a run (model_spec's keyword arguments)."""
    return {k: settings[k] for k in MODEL_KEYS if k in settings}


def sampled_epochs(settings: dict) -> list[int]:
    """Epochs whose checkpoints are sampled: the configured ones and the last."""
    return sorted(set(settings["sample_epochs"]) | {settings["epochs"]})


def train_settings(config: dict, name: str, latent: bool = False) -> dict:
    """TrainSettings fields of a run (its latent DDPM's with `latent`), but for the model
    spec's data-set part (channels, size, classes), which the training job reads from the
    prepared data."""
    s = (latent_run_settings if latent else run_settings)(config, name)
    settings = {"kind": s["kind"], "hidden": s.get("hidden"), "seed": config["seed"],
                **{k: s[k] for k in TRAIN_KEYS},
                "checkpoint_epochs": sampled_epochs(s), "model": spec_options(s)}
    if s["lr_schedule"] == "exponential":
        settings["lr_decay_total"] = s["lr_decay_total"]
    if s["kind"] == "class":
        settings["p_uncond"] = s["p_uncond"]
    return settings


def sampling_settings(config: dict, name: str) -> dict:
    """What the sample job of a run needs besides its checkpoint."""
    s = run_settings(config, name)
    T = s["num_steps"]
    args = {"seed": config["seed"], "variance": s["variance"],
            "strip_every": math.ceil(T / STRIP_STEPS), "strips": s["strips"],
            "frame_ms": config["part_b"]["animation"]["frame_ms"],
            "device": config["device"], "precision": config["performance"]["sample_precision"]}
    if s["kind"] == "class":
        args.update(samples_per_class=s["samples_per_class"], guidance=s["guidance"])
    else:
        args["num_samples"] = s["num_samples"]
    return args


def check(config: dict) -> None:
    """Checks a schema cannot make: runs name data sets with settings, epochs lie within
    training, latent runs are deep dive runs with latent settings. One ConfigError naming every
    offending key. (Whether a network fits its images, model_spec says in the training job.)"""
    problems = []
    datasets = config.get("datasets", {})
    models = config.get("deep_dive", {}).get("models", {})
    for name in runs(config):
        key = f"deep_dive.models.{name}"
        if name not in datasets:
            problems.append(("deep_dive.run", f"{name!r} is not a data set of `datasets:` "
                             f"(known: {', '.join(datasets) or 'none'})"))
            continue
        if name not in models:
            problems.append(("deep_dive.run", f"{name!r} has no settings under deep_dive.models"))
            continue
        s = models[name]
        late = [e for e in s["sample_epochs"] if e > s["epochs"]]
        if late:
            problems.append((f"{key}.sample_epochs", f"epochs {late} come after the last "
                             f"training epoch ({key}.epochs = {s['epochs']})"))
        if s["beta_start"] > s["beta_end"]:
            problems.append((f"{key}.beta_start", "must not exceed beta_end"))
    latent_models = config.get("latent", {}).get("models", {})
    pixel_runs = runs(config)
    for name in latent_runs(config):
        if name not in pixel_runs:
            problems.append(("latent.run", f"{name!r} is not a run of deep_dive.run (the latent "
                             "run trains its pixel twin's DDPM on its data set)"))
        if name not in latent_models:
            problems.append(("latent.run", f"{name!r} has no settings under latent.models"))
    if problems:
        raise ConfigError("invalid config: " + "; ".join(
            f"config key {key}: {message}" for key, message in problems))
