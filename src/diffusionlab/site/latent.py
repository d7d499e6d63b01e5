"""The deep dive's "Pixel versus latent" section: a run's latent twin (rules/latent.smk,
`latent_files(name)`, by FILE_KEYS) against the pixel run on the same data and budget."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from .manifest import Figure, SectionResult, Table

# The files of a latent run that the section shows or reads (rules/latent.smk, latent_files).
FILE_KEYS = ("autoencoder_info", "autoencoder_loss", "reconstruction", "reconstructions",
             "latents_info", "info", "loss", "samples", "animations", "summary", "detailed",
             "metrics", "nearest", "versus_table", "versus")
VERSUS_LABELS = {"measure": "measure", "pixel": "pixel", "latent": "latent",
                 "latent_over_pixel": "latent / pixel"}
NOT_RUN = ("This data set has no latent run: add its name to latent.run and its autoencoder "
           "to latent.models (README: Latent diffusion).")


def report_key(name: str, key: str) -> str:
    """The report rule's input name of one file of a latent run."""
    return f"latent_{name}_{key}"


def versus_notes(v: Mapping) -> list[str]:
    pixel, latent = v["pixel"], v["latent"]
    epochs = v["epochs"]
    if isinstance(epochs, int):  # files written before latent.models.<name>.epochs
        epochs = {"pixel": epochs, "latent": epochs}
    if epochs["pixel"] == epochs["latent"]:
        budget = (f"Both DDPMs saw {pixel['images_seen']:,} training images "
                  f"({epochs['pixel']} epochs): an equal budget of images seen.")
    else:
        budget = (f"The pixel DDPM saw {pixel['images_seen']:,} training images "
                  f"({epochs['pixel']} epochs), the latent one {latent['images_seen']:,} "
                  f"({epochs['latent']} epochs, latent.models.<name>.epochs): budgets of "
                  "other sizes, compare their training times below.")
    notes = [
        f"{budget} The latent one diffuses {latent['space']} latents instead of "
        f"{pixel['space']} pixels and trained at {latent['train_images_per_s']:.0f} images/s "
        f"against {pixel['train_images_per_s']:.0f} ({latent['train_job_s']:.0f} s against "
        f"{pixel['train_job_s']:.0f} s of job wall time); with the autoencoder's training "
        f"({latent['autoencoder_job_s']:.0f} s) and the encoding ({latent['encode_job_s']:.0f} s) "
        f"its training jobs took {latent['all_training_s']:.0f} s in all.",
        f"Sampling, decoding included, took {latent['sample_s_per_image']:.2f} s per sample "
        f"against {pixel['sample_s_per_image']:.2f} s (job wall times, start-up and figures "
        f"included). DDPM parameters: {latent['ddpm_parameters']:,} against "
        f"{pixel['ddpm_parameters']:,}, plus {latent['autoencoder_parameters']:,} in the "
        "autoencoder.",
        f"The autoencoder reconstructs the test split at {latent['reconstruction_psnr_db']:.1f} dB "
        "PSNR: what the latent samples can at best reach in detail.",
    ]
    if "class_accuracy" in latent:
        notes.append(f"The data set's judge reads {latent['class_accuracy']:.0%} of the latent "
                     f"model's guided samples as the class asked for, "
                     f"{pixel['class_accuracy']:.0%} of the pixel model's.")
    if "frechet_distance" in latent:
        notes.append(f"Fréchet distance to the test images in the judge's feature space, "
                     f"{latent['frechet_samples']} samples each: {latent['frechet_distance']:.3g} "
                     f"latent, {pixel['frechet_distance']:.3g} pixel (floor: as many training "
                     f"images, {latent['frechet_floor']:.3g}; lower is better).")
    if "sample_near_copies" in latent:
        notes.append(f"Near-copies of training images: {latent['sample_near_copies']:.0%} of "
                     f"the latent samples, {pixel['sample_near_copies']:.0%} of the pixel ones.")
    return notes


def latent_section(files: Mapping | None) -> SectionResult:
    """The section of one run: its latent twin's figures, the comparison table and what it
    says; a run without a latent twin says how to add one."""
    if files is None:
        return SectionResult(not_run=NOT_RUN)
    versus = json.loads(Path(files["versus"]).read_text())
    epochs = json.loads(Path(files["info"]).read_text())["settings"]["checkpoint_epochs"]
    latents = json.loads(Path(files["latents_info"]).read_text())
    last = epochs[-1]
    return SectionResult(
        figures=[Figure(files["reconstructions"], kind="reconstructions"),
                 Figure(files["autoencoder_loss"], kind="autoencoder_loss"),
                 Figure(files["samples"][-1], kind="samples", values={"epoch": last}),
                 Figure(files["animations"][-1], kind="animation", values={"epoch": last}),
                 Figure(files["summary"], kind="summary"),
                 Figure(files["detailed"][-1], kind="detailed", values={"epoch": last}),
                 Figure(files["nearest"], kind="nearest", values={"epoch": last})],
        tables=[Table(files["versus_table"], kind="versus", labels=VERSUS_LABELS,
                      columns=tuple(VERSUS_LABELS), digits=5)],
        notes=versus_notes(versus),
        values={"latent_shape": "×".join(map(str, latents["latent_shape"])),
                "scale": latents["scale"], "last_epoch": last,
                "widths": ", ".join(map(str, latents["autoencoder"]["block_out_channels"])),
                "psnr": json.loads(Path(files["reconstruction"]).read_text())["psnr"]},
    )


def latent_files(files: Mapping, name: str) -> dict | None:
    """The latent files of a run among the report's inputs, or None when it has no twin."""
    if report_key(name, "versus") not in files:
        return None
    return {k: files[report_key(name, k)] for k in FILE_KEYS}
