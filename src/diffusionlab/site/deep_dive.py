"""The deep dive's pages: one part per data set of deep_dive.run, built from its files.

`files` of a run are those of rules/deep_dive.smk's `deep_dive_files(name)`, by FILE_KEYS.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from pathlib import Path

from .latent import latent_files, latent_section
from .manifest import Figure, PartResult, SectionResult, Table, slugify
from .training_text import schedule_text

ARCH_NAMES = {"course": "course UNet", "unet2d": "diffusers UNet2DModel"}
KIND_NAMES = {"time": "time-conditioned", "class": "class-conditioned"}
MEMORISATION_LABELS = {"image": "image", "index": "#", "nearest_train": "nearest training image",
                       "nearest_class": "its class", "rms": "RMS distance",
                       "near_copy": "near-copy"}
MEMORISATION_ROWS = 12
# The files of a run that its page shows or reads (rules/deep_dive.smk, deep_dive_files).
FILE_KEYS = ("data_meta", "info", "losses", "loss", "samples", "animations", "summary",
             "detailed", "settling", "memorisation", "metrics", "nearest")
SETTLING_LABELS = {"t": "t", "coarse_left": "coarse layout left", "detail_left": "detail left"}
# A component is halfway drawn once at most this share of its first distance to the finished
# sample is left (the strips' spacing is too coarse for a tighter share to tell steps apart).
SETTLED = 0.5


def read_json(path) -> dict:
    return json.loads(Path(path).read_text())


def final_loss(losses_csv) -> float:
    """Mean loss of the last epoch of a losses.csv (epoch, step, loss)."""
    with open(losses_csv, newline="") as f:
        rows = [(int(r["epoch"]), float(r["loss"])) for r in csv.DictReader(f)]
    last = max(e for e, _ in rows)
    values = [v for e, v in rows if e == last]
    return sum(values) / len(values)


def settled_at(settling_csv) -> dict[str, int | None]:
    """The first step t (counting down) from which the coarse layout and the detail stay within
    SETTLED of their first distance to the finished sample."""
    with open(settling_csv, newline="") as f:
        rows = [(int(r["t"]), float(r["coarse_left"]), float(r["detail_left"]))
                for r in csv.DictReader(f)]
    settled = {}
    for k, col in ((1, "coarse"), (2, "detail")):
        later = [t for i, (t, *_) in enumerate(rows)
                 if all(r[k] <= SETTLED for r in rows[i:])]
        settled[col] = later[0] if later else None
    return settled


def settling_note(settled: Mapping) -> str:
    return (f"In this run, the coarse layout is halfway to its final state (at most "
            f"{SETTLED:.0%} of its first distance left) from t = {settled['coarse']} on, the "
            f"detail from t = {settled['detail']} on: "
            + ("the layout comes first." if settled["coarse"] > settled["detail"] else
               "here the detail does not come after the layout." if settled["coarse"]
               < settled["detail"] else "both at once."))


def provenance_note(meta: Mapping) -> str:
    names = meta["class_names"]
    classes = (f"{len(names)} classes ({', '.join(names)})" if len(names) > 1
               else f"one class ({names[0]})")
    shape = "×".join(map(str, meta["image_shape"]))
    return (f"Source {meta['dataset']} ({meta['source']}, from {meta['root']}): "
            f"{meta['train_count']} training and {meta['test_count']} test images of "
            f"{shape} (channels × height × width), {classes}. Fingerprint of the prepared "
            f"tensors: sha256 {meta['fingerprint'][:16]}…")


def model_note(spec: Mapping) -> str:
    if spec["arch"] == "course":
        width = f"hidden width D = {spec['hidden']}"
    else:
        width = (f"widths {', '.join(map(str, spec['widths']))}, {spec['layers_per_block']} "
                 f"ResNet blocks per level, attention at {spec['attention_resolutions']}")
    return (f"Network: {ARCH_NAMES[spec['arch']]} ({width}) for {spec['channels']}-channel "
            f"{spec['image_size']}×{spec['image_size']} images"
            + (f", {spec['num_classes']} classes" if spec["num_classes"] else "") + ".")


def metrics_notes(m: Mapping) -> list[str]:
    threshold_db = -20 * math.log10(m["near_copy_rms"])
    notes = [f"{m['sample_near_copies']:.0%} of the {m['samples']} samples are near-copies of a "
             f"training image, closer to it than RMS {m['near_copy_rms']:g} (a PSNR of "
             f"{threshold_db:.0f} dB); their median RMS distance to the nearest one is "
             f"{m['sample_median_rms']:.3f}."]
    if "held_out" in m:
        notes.append(f"Reference: {m['held_out_near_copies']:.0%} of {m['held_out']} held-out "
                     f"test images lie as close to a training image (median RMS distance "
                     f"{m['held_out_median_rms']:.3f}). Samples much closer than the held-out "
                     "images are copies; as close or farther, new images of the same kind.")
    if "psnr_mean" in m:
        notes.append(f"PSNR of the samples to the training image: {m['psnr_mean']:.1f} dB on "
                     f"average ({m['psnr_min']:.1f} to {m['psnr_max']:.1f} dB). One image "
                     "repeated is all this model has seen: reproducing it is success.")
    return notes


def fidelity_notes(m: Mapping) -> list[str]:
    """The judge's reading and Frechet distance of a labelled set's samples, and the standard
    FID or why it is missing (the reason as the value fid_reason: it is text from outside)."""
    notes = []
    if "class_accuracy" in m:
        notes.append(f"The data set's judge (part B's classifier trained on its training split; "
                     f"test accuracy {m['judge_test_accuracy']:.1%}) reads "
                     f"{m['class_accuracy']:.0%} of the {m['judged_samples']} guided samples as "
                     "the class asked for.")
    if "frechet_distance" in m:
        n = m["frechet_samples"]
        notes.append(f"Fréchet distance in the judge's features of {n} guided samples to the "
                     f"{m['frechet_reference']} test images: {m['frechet_distance']:.4g}; its "
                     f"floor, {n} training images to the same test images: "
                     f"{m['frechet_floor']:.4g}"
                     + (f" ({m['frechet_distance'] / m['frechet_floor']:.1f} times the floor)."
                        if m["frechet_floor"] > 0 else "."))
    if m.get("fid") is not None:
        n = m["fid_images"]
        notes.append(f"Standard FID (Inception-v3 pool features) of {n} samples to {n} test "
                     f"images: {m['fid']:.4g}; its floor, {n} training images to the same test "
                     f"images: {m['fid_floor']:.4g}. Published FIDs use 50,000 samples: at {n} "
                     "the distance is much larger, and only its floor gives it a scale.")
    elif "fid" in m:
        off = m["fid_reason"].startswith("deep_dive.fid is off")
        notes.append("The standard FID " + ("was not computed" if off else
                                            "could not be computed") + ": {fid_reason}")
    return notes


def deep_dive_part(name: str, files: Mapping, run: Mapping, seed: int,
                   latent: Mapping | None = None) -> PartResult:
    """The page of one deep dive run: `run` is its deep_dive.models entry, `latent` the files
    of its latent twin (site.latent.FILE_KEYS; None: it has none)."""
    meta, info, metrics = (read_json(files[k]) for k in ("data_meta", "info", "metrics"))
    spec = info["spec"]
    T = run["num_steps"]
    strip_every = -(-T // 20)
    epochs = info["settings"]["checkpoint_epochs"]
    classes = len(meta["class_names"])
    per_class = run.get("samples_per_class")
    values = {
        "dataset": name, "kind_name": KIND_NAMES[run["kind"]],
        "arch_name": ARCH_NAMES[run["arch"]], "num_steps": T,
        "beta_start": run["beta_start"], "beta_end": run["beta_end"],
        "variance": {"beta": "βₜ", "posterior": "β̃ₜ"}[run["variance"]],
        "batch_size": run["batch_size"], "epochs": run["epochs"], "lr": run["lr"],
        "lr_schedule": schedule_text(run), "seed": seed, "strip_every": strip_every,
        "num_samples": per_class * classes if per_class else run["num_samples"],
        "per_class": (f", {per_class} per class with guidance γ = {run['guidance']}"
                      if per_class else ""),
    }
    sections = {
        "data": SectionResult(notes=[provenance_note(meta)]),
        "training": SectionResult(
            figures=[Figure(files["loss"], kind="loss")],
            notes=[model_note(spec), f"Mean training loss over the last epoch: "
                   f"{final_loss(files['losses']):.4f}."],
        ),
        "samples": SectionResult(figures=[
            *(Figure(p, kind="samples", values={"epoch": e})
              for e, p in zip(epochs, files["samples"], strict=True)),
            *(Figure(p, kind="animation", values={"epoch": e})
              for e, p in zip(epochs, files["animations"], strict=True)),
        ]),
        "sampling": SectionResult(
            figures=[
                Figure(files["summary"], kind="summary"),
                *(Figure(p, kind="detailed", values={"epoch": e})
                  for e, p in zip(epochs, files["detailed"], strict=True)),
            ],
            tables=[Table(files["settling"], kind="settling", labels=SETTLING_LABELS,
                          columns=tuple(SETTLING_LABELS), digits=2)],
            notes=[settling_note(settled_at(files["settling"]))],
            values={"summary_samples": run["summary_samples"], "epochs_sampled": epochs,
                    "strips": run["strips"], "strip_first": (T - 1) // strip_every
                    * strip_every, "last_epoch": epochs[-1], "settled": SETTLED},
        ),
        "fidelity": SectionResult(
            notes=fidelity_notes(metrics), values={"fid_reason": metrics.get("fid_reason")},
            not_run=None if fidelity_notes(metrics) else "The run's metrics hold neither a "
            "judge's reading nor a FID (written before the deep dive measured them)."),
        "memorisation": SectionResult(
            figures=[Figure(files["nearest"], kind="nearest")],
            tables=[Table(files["memorisation"], kind="table", labels=MEMORISATION_LABELS,
                          max_rows=MEMORISATION_ROWS)],
            notes=metrics_notes(metrics),
            values={"last_epoch": metrics["epoch"], "near_copy_rms": metrics["near_copy_rms"],
                    "held_out_rows": " and of as many held-out test images"
                    if "held_out" in metrics else ""},
        ),
        "latent": latent_section(latent),
    }
    return PartResult("deep", sections, backend=name, slug=f"deep-dive-{slugify(name)}",
                      values=values)


def report_key(name: str, key: str) -> str:
    """The report rule's input name of one file of a run."""
    return f"deep_dive_{name}_{key}"


def deep_dive_parts(files: Mapping, config: Mapping) -> list[PartResult]:
    """A page per run of deep_dive.run whose files are among `files`, each file of a run under
    report_key(name, key) for the keys of FILE_KEYS (a workflow without the deep dive's rules
    passes none); a run's latent twin, if it has one, under site.latent.report_key."""
    return [deep_dive_part(name, {k: files[report_key(name, k)] for k in FILE_KEYS},
                           config["deep_dive"]["models"][name], config["seed"],
                           latent_files(files, name))
            for name in config.get("deep_dive", {}).get("run", [])
            if report_key(name, "metrics") in files]
