"""Rules report and publish: the write-up as a static site, and the site packed for sharing."""

import json
from collections.abc import Mapping, Sequence

import pandas as pd

from diffusionlab.runtime import run_job
from diffusionlab.site import (
    Figure,
    Manifest,
    PartResult,
    Provenance,
    SectionResult,
    Table,
    build_site,
    publish,
)
from diffusionlab.workflow import checkpoint_epochs

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


def final_loss(losses_csv: str) -> float:
    """Mean loss of the last epoch of a training's losses.csv (epoch, step, loss)."""
    losses = pd.read_csv(losses_csv)
    return float(losses.loc[losses["epoch"] == losses["epoch"].max(), "loss"].mean())


def lr_schedule(total: float | None) -> str:
    if total is None:
        return "kept constant"
    return f"decayed exponentially by a factor {total:g} over training"


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
            "lr_schedule": lr_schedule(section["lr_decay_total"]),
            **extra,
        },
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


def sampler_steps(files: Mapping, config: Mapping) -> SectionResult:
    """E.3: per model, sample quality against the number of sampling steps, and wall times."""
    figures, tables = [], []
    for model in config["evaluation"]["sampler_steps"]["models"]:
        values = {"model_name": MODEL_NAMES[model]}
        labels = QUALITY_LABELS | ({"class_accuracy": "class accuracy"} if model == "class" else {})
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
    }
    return PartResult("eval", sections, values={"spacing": ev["spacing"]})


def manifest(files: Mapping, config: Mapping, not_run: Sequence[Mapping]) -> Manifest:
    """Part A first, then part B, then the evaluation, as the exercise reads. Parts listed in
    `not_run` give their reason; the evaluation shows when its files are among `files`."""
    parts = [PartResult(**p) for p in not_run if p["part"] == "A"]
    parts.append(part_b(files, config))
    if "classifier_info" in files:
        parts.append(evaluation(files, config))
    parts += [PartResult(**p) for p in not_run if p["part"] not in ("A", "B")]
    return Manifest(parts, values={"seed": config["seed"]})


def render(files: Mapping, site: str, config, not_run, templates: str, repo: str) -> None:
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


def pack(site: str, archive: str, pages: str) -> None:
    for path in publish(site, archive=archive, pages=pages):
        print(f"wrote {path}")


if __name__ == "__main__":
    sm = snakemake  # noqa: F821 (injected by Snakemake)
    if sm.params.job == "render":
        files = {k: v for k, v in sm.input.items() if k not in ("code", "templates")}
        run_job(render, sm.log[0], files, sm.output.site, **sm.params.args)
    else:
        run_job(pack, sm.log[0], sm.input.site, sm.output.archive, sm.output.pages)
