"""The exercise's write-up of a run: its files and config as the manifest the site renders.

Part A (per backend), part B and the evaluation are built here; the deep dive's pages come from
`deep_dive`. `files` are the report rule's inputs by name (rules/report.smk). Torch-free: the
report job renders files and imports no model code.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import pandas as pd

from ..evaluation import part_a_metric_params as eval_part_a
from ..part_a import item_params as part_a_params
from ..rule_params import checkpoint_epochs
from .catalogue import part_spec
from .deep_dive import deep_dive_parts
from .manifest import Figure, Manifest, PartResult, SectionResult, Table
from .placement import backend_name, part_a_figure
from .provenance import Provenance
from .render import build_site
from .training_text import schedule_text

VARIANCE = {"beta": "βₜ", "posterior": "β̃ₜ (the posterior variance)"}
LOSS_NOTE = "Mean training loss over the last epoch: {final_loss:.4f}."
OOD_LABELS = {"sigma": "σ", "mse": "MSE", "psnr_db": "PSNR (dB)", "test_digits": "test digits"}
DENOISING_LABELS = {"sigma": "σ", "mse": "MSE", "psnr": "PSNR (dB)", "test_digits": "test digits"}
QUALITY_LABELS = {"frechet_distance": "Fréchet distance", "floor": "floor (real digits)"}
GUIDANCE_LABELS = {"guidance": "γ", "mean_probability": "mean probability"}
CLASSIFIER_NOTE = (
    "Test accuracy of the classifier: {test_accuracy:.2%} of the {test_digits} test digits "
    "(training epochs: {epochs})."
)
MODEL_NAMES = {"time": "time-conditioned", "class": "class-conditioned"}
# Why a part A backend left out of part_a.backends was not run.
PART_A_LEFT_OUT = {
    "deepfloyd": "Not in part_a.backends — it needs a CUDA GPU and Hugging Face access to the "
    "gated model; see README.",
    "mnist": "Not in part_a.backends — add mnist there to run part A on part B's "
    "class-conditioned UNet, on any CPU.",
}
# Part A's settings give timesteps on the exercise's scale (DeepFloyd IF, T = 1000).
EXERCISE_STEPS = 1000
TIMESTEP_NOTE = (
    "Timesteps and strides in the captions are on the exercise's scale, T = 1000. This model "
    "has T = {model_steps} steps and scales them by {model_steps}/1000; the labels inside the "
    "figures give its own t."
)
# Part A sections whose figures come from a list of the backend's settings, which may be empty.
PART_A_LISTS = {"1.7.2": "inpainting", "1.8": "anagrams", "1.9": "hybrids", "views": "more_views"}
# The evaluation's tables of part A (diffusionlab.evaluation.part_a_metric_params.files).
SDEDIT_LABELS = {"kept_class": "kept class", "p_source": "mean p(source)",
                 "source_accuracy": "unedited read correctly"}
ILLUSION_COLUMNS = ("item", "digits", "views", "samples", "alignment", "concealment",
                    "success_rate", "ceiling")
VIEW_COLUMNS = ("item", "view", "target", "p_target", "p_other", "accuracy")
# Columns that fit the text column (the CSV downloads hold them all): the views name the kind
# of illusion, and a prediction is shown as right or wrong.
VIEW_TYPE_COLUMNS = ("views", "items", "samples", "alignment", "concealment", "success_rate")
SCORE_COLUMNS = ("item", "sample", "view", "target", "p_target", "p_other", "correct")
SCORE_ROWS = 10  # rows of the per-sample scores shown (no scroll bar)
ILLUSION_LABELS = {"item": "figure", "success_rate": "success rate",
                   "ceiling": "ceiling (real digits)"}
SCORE_LABELS = {"item": "figure", "target": "target digit", "p_target": "p(target)",
                "p_other": "p(other)"}


def final_loss(losses_csv: str) -> float:
    """Mean loss of the last epoch of a training's losses.csv (epoch, step, loss)."""
    losses = pd.read_csv(losses_csv)
    return float(losses.loc[losses["epoch"] == losses["epoch"].max(), "loss"].mean())


def training_values(section: Mapping, losses_csv: str) -> dict:
    """Caption values every training section shares."""
    return {
        "batch_size": section["batch_size"],
        "epochs": section["epochs"],
        "hidden": section["hidden"],
        "lr": section["lr"],
        "final_loss": final_loss(losses_csv),
    }


def by_epoch(kind: str, epochs: Sequence[int], paths: Sequence[str]) -> list[Figure]:
    return [Figure(p, kind=kind, values={"epoch": e}) for e, p in zip(epochs, paths, strict=True)]


def ddpm_section(model: str, section: Mapping, files: Mapping, extra: Mapping) -> SectionResult:
    """2.1-2.3 or 2.4-2.5: loss curve, samples and sampling animations of one DDPM."""
    epochs = section["sample_epochs"]
    return SectionResult(
        figures=[
            Figure(files[f"{model}_loss"], kind="loss"),
            *by_epoch("samples", epochs, files[f"{model}_samples"]),
            *by_epoch("animation", epochs, files[f"{model}_animations"]),
        ],
        notes=[LOSS_NOTE],
        values={
            **training_values(section, files[f"{model}_losses"]),
            "lr_schedule": schedule_text(section, course=True),
            **extra,
        },
    )


def part_a(backend: str, files: Mapping, config: Mapping) -> PartResult:
    """Part A on one backend: its figures (`files["part_a_<backend>"]`) by section, each
    captioned with the settings of the job that made it, with the evaluation's metrics beside
    the figures they judge; a backend not in part_a.backends says why it was not run."""
    name, slug = backend_name(backend), f"part-a-{backend}"
    if backend not in config["part_a"]["backends"]:
        return PartResult("A", backend=name, slug=slug, not_run=PART_A_LEFT_OUT[backend])
    figures: dict[str, list[Figure]] = {}
    for path in files[f"part_a_{backend}"]:
        stem = Path(path).stem
        figure = part_a_figure(stem)
        values = {**part_a_params.job_args(config, backend, figure.job), "item": stem}
        figures.setdefault(figure.section, []).append(Figure(path, kind=figure.kind, values=values))
    judged = backend == eval_part_a.BACKEND and "illusions_table" in files
    sections = {}
    for spec in part_spec("A").sections:
        if spec.key not in figures:
            key = f"part_a.{part_a_params.section_key(backend)}.{PART_A_LISTS[spec.key]}"
            sections[spec.key] = SectionResult(not_run=f"None configured: {key} is empty.")
        elif judged:
            sections[spec.key] = part_a_judged(figures[spec.key], spec.key, files, config)
        else:
            sections[spec.key] = SectionResult(figures=figures[spec.key])
    num_steps = part_a_params.num_steps(config, backend)
    if num_steps != EXERCISE_STEPS:  # the first section that names timesteps says so
        first = sections["1.1"]
        sections["1.1"] = replace(first, notes=[*first.notes, TIMESTEP_NOTE],
                                  values={**first.values, "model_steps": num_steps})
    return PartResult("A", sections, backend=name, slug=slug)


def part_a_judged(figures: list[Figure], section: str, files: Mapping, config) -> SectionResult:
    """A part A section on the MNIST backend with the evaluation's metrics of its figures:
    SDEdit's figure and table for 1.7, and the rows of the illusions the section shows (those
    whose prompts all name a digit)."""
    ev = config["evaluation"]
    if section == "1.7":
        return SectionResult(
            figures=[*figures, Figure(files["sdedit_figure"], kind="sdedit_metrics")],
            tables=[Table(files["sdedit_table"], kind="sdedit_table", labels=SDEDIT_LABELS)],
            values={"digits": ev["sdedit"]["digits"]},
        )
    items = [f.values["item"] for f in figures]
    judged = [i for i in items if i in eval_part_a.illusion_items(config)]
    if not judged:
        return SectionResult(figures=figures)
    where = {"item": judged}
    return SectionResult(
        figures=figures,
        tables=[
            Table(files["illusions_table"], kind="illusions", where=where,
                  columns=ILLUSION_COLUMNS, labels=ILLUSION_LABELS),
            Table(files["illusions_views"], kind="illusion_views", where=where,
                  columns=VIEW_COLUMNS, labels=SCORE_LABELS),
        ],
        values={"samples": ev["illusions"]["samples"]},
    )


def part_b(files: Mapping, config: Mapping) -> PartResult:
    """Part B's sections from the files of the part B rules and the config that made them."""
    pb = config["part_b"]
    denoiser, time, cls = pb["denoiser"], pb["time"], pb["class"]
    sections = {
        "1.2": SectionResult(
            figures=[Figure(files["noising"], kind="noising")],
            values={"digits": pb["noising"]["digits"], "sigmas": pb["noising"]["sigmas"]},
        ),
        "1.2.1": SectionResult(
            figures=[
                Figure(files["denoiser_loss"], kind="loss"),
                *by_epoch("results", denoiser["figure_epochs"], files["denoiser_results"]),
            ],
            notes=[LOSS_NOTE],
            values={
                **training_values(denoiser, files["denoiser_losses"]),
                "sigma": denoiser["sigma"],
            },
        ),
        "1.2.2": SectionResult(
            figures=[Figure(files["ood"], kind="ood")],
            tables=[Table(files["ood_metrics"], kind="ood_table", labels=OOD_LABELS)],
            values={"sigma": denoiser["sigma"], "sigmas": denoiser["ood_sigmas"]},
        ),
        "2.1": ddpm_section("time", time, files, {"num_samples": time["num_samples"]}),
        "2.4": ddpm_section(
            "class",
            cls,
            files,
            {
                "p_uncond": cls["p_uncond"],
                "guidance": cls["guidance"],
                "samples_per_class": cls["samples_per_class"],
            },
        ),
    }
    schedule = pb["schedule"]
    return PartResult(
        "B",
        sections,
        values={
            "num_steps": schedule["num_steps"],
            "beta_start": schedule["beta_start"],
            "beta_end": schedule["beta_end"],
            "variance": VARIANCE[schedule["variance"]],
            "every": pb["animation"]["every"],
        },
    )


def quality_labels(model: str) -> dict:
    """Headings of a sample quality table; only the class-conditioned model has an accuracy."""
    return QUALITY_LABELS | ({"class_accuracy": "class accuracy"} if model == "class" else {})


def sampler_steps(files: Mapping, config: Mapping) -> SectionResult:
    """E.4: per model, sample quality against the number of sampling steps, and wall times."""
    figures, tables = [], []
    for model in config["evaluation"]["sampler_steps"]["models"]:
        values = {"model_name": MODEL_NAMES[model]}
        labels = quality_labels(model)
        kind = "figure_guided" if model == "class" else "figure"
        figures.append(Figure(files[f"steps_{model}_figure"], kind=kind, values=values))
        tables += [
            Table(files[f"steps_{model}_quality"], kind="quality", values=values, labels=labels),
            Table(files[f"steps_{model}_timing"], kind="timing", values=values),
        ]
    section = config["evaluation"]["sampler_steps"]
    return SectionResult(
        figures=figures,
        tables=tables,
        values={
            "methods": [m.upper() for m in section["methods"]],
            "steps": section["steps"],
            "num_samples": section["num_samples"],
            "guidance": config["part_b"]["class"]["guidance"],
        },
    )


def evaluation(files: Mapping, config: Mapping) -> PartResult:
    """The evaluation's sections from the files of its rules and the config that made them."""
    ev = config["evaluation"]
    with open(files["classifier_info"]) as f:
        classifier = json.load(f)
    guidance = ev["guidance"]
    sections = {
        "classifier": SectionResult(
            notes=[CLASSIFIER_NOTE],
            values={
                "epochs": ev["classifier"]["epochs"],
                "test_accuracy": classifier["test_accuracy"],
                "test_digits": classifier["test_digits"],
            },
        ),
        "denoising": SectionResult(
            figures=[Figure(files["denoising_figure"], kind="figure")],
            tables=[Table(files["denoising_table"], kind="table", labels=DENOISING_LABELS)],
            values={
                "epochs": checkpoint_epochs(config["part_b"], "denoiser"),
                "digits": ev["denoising"]["digits"] or "all",
                "sigmas": ev["denoising"]["sigmas"],
            },
        ),
        "checkpoints": SectionResult(
            tables=[
                Table(files[f"checkpoints_{model}"], kind=f"table_{model}",
                      labels=quality_labels(model) | {"ratio": "distance / floor"})
                for model in ("time", "class")
            ],
            values={
                "num_samples": ev["checkpoints"]["num_samples"],
                "num_steps": config["part_b"]["schedule"]["num_steps"],
                "guidance": config["part_b"]["class"]["guidance"],
            },
        ),
        "steps": sampler_steps(files, config),
        "guidance": SectionResult(
            figures=[Figure(files["guidance_figure"], kind="figure")],
            tables=[Table(files["guidance_table"], kind="table", labels=GUIDANCE_LABELS)],
            values={
                "scales": guidance["scales"],
                "samples_per_digit": guidance["samples_per_digit"],
                "method": guidance["method"].upper(),
                "num_steps": guidance["num_steps"] or config["part_b"]["schedule"]["num_steps"],
            },
        ),
        "part_a": part_a_illusions(files, config),
        "targets": SectionResult(
            tables=[Table(files["targets"], kind="table", digits=3)],
            values={"train_digits": classifier["data"]["train_digits"]},
        ),
    }
    return PartResult("eval", sections, values={"spacing": ev["spacing"]})


def part_a_illusions(files: Mapping, config: Mapping) -> SectionResult:
    """E.6: every illusion of part A's MNIST page side by side, by kind of view, and the scores
    of every sample; the tables of single figures stand beside them on part A's page."""
    if "illusions_table" not in files:
        if eval_part_a.enabled(config):
            return SectionResult(not_run="This workflow has no rules for part A's metrics.")
        backend = eval_part_a.BACKEND
        return SectionResult(
            not_run=f"Part A is judged on its {backend} backend, not in part_a.backends."
        )
    values = {"samples": config["evaluation"]["illusions"]["samples"]}
    return SectionResult(
        figures=[Figure(files["illusions_figure"], kind="figure")],
        tables=[
            Table(files["illusions_view_types"], kind="view_types", columns=VIEW_TYPE_COLUMNS,
                  labels={"success_rate": "success rate"}),
            Table(files["illusions_scores"], kind="scores", columns=SCORE_COLUMNS,
                  labels=SCORE_LABELS, max_rows=SCORE_ROWS),
        ],
        values=values,
    )


def manifest(files: Mapping, config: Mapping, not_run: Sequence[Mapping]) -> Manifest:
    """Part A (each backend) first, then part B, the evaluation and the deep dive's data sets,
    as the exercise reads.
    Part A's figures of a backend are `files["part_a_<backend>"]`; parts listed in `not_run`
    give their reason; the evaluation shows when its files are among `files`."""
    backends = [*part_a_params.BACKENDS, *(b for b in config["part_a"]["backends"]
                                           if part_a_params.is_dataset(b))]
    parts = [part_a(b, files, config) for b in backends]
    parts.append(part_b(files, config))
    if "classifier_info" in files:
        parts.append(evaluation(files, config))
    parts += deep_dive_parts(files, config)
    parts += [PartResult(**p) for p in not_run]
    return Manifest(parts, values={"seed": config["seed"]})


def build_report(files: Mapping, site: str, config: Mapping, not_run: Sequence[Mapping],
                 templates: str, repo: str) -> None:
    """The report job: the site of a run in `site`, from the report rule's `files` (those of
    `manifest`, with the data's meta dict, part B's timing info and the benchmark files)."""
    with open(files["data_meta"]) as f:
        data_meta = json.load(f)
    with open(files["time_info"]) as f:
        machine = json.load(f)["machine"]
    provenance = Provenance(
        config=config,
        data_meta=data_meta,
        device=machine,
        benchmarks=list(files["benchmarks"]),
        repo=repo,
    )
    index = build_site(manifest(files, config, not_run), site, provenance, templates=templates)
    print(f"wrote {index}")
