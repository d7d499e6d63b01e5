"""Where the workflow's files appear in the write-up: one table for the rules and the report.

The report job (site.exercise) places each file of the rules in a section of the site; the
rules flag the same files for Snakemake's own report (`snakemake --report`) under a category (the
part, and for part A the backend) and a subcategory (the section). Both read the tables here, so
the two reports cannot disagree. Cheap to import (no pandas, no torch): the rules use it at parse
time.
"""

from __future__ import annotations

from dataclasses import dataclass

from .catalogue import part_spec

# Part A's backends (diffusionlab.part_a.item_params.BACKENDS) as the write-up names them.
BACKEND_NAMES = {"deepfloyd": "DeepFloyd IF", "mnist": "MNIST class-conditioned UNet"}


def backend_name(backend: str) -> str:
    """A backend as the write-up names it; a deep dive data set's by the data set."""
    return BACKEND_NAMES.get(backend, f"{backend} class-conditioned UNet (deep dive)")

# Part A's figures by file stem (diffusionlab.part_a.item_params.figures; numbered items such as
# "anagram_2" by their kind): section, caption kind (templates/captions.yaml) and, where it is
# not the figure's own stem, the job whose settings (part_a.item_params.job_args) made the figure.
PART_A_FIGURES = {
    "sampling": ("0", "samples", None),
    "sampling_upsampled": ("0", "upsampled", None),
    "forward": ("1.1", "forward", None),
    "blur": ("1.2", "blur", "denoising"),
    "one_step": ("1.3", "one_step", "denoising"),
    "iterative": ("1.4", "steps", None),
    "iterative_compare": ("1.4", "compare", "iterative"),
    "samples": ("1.5", "samples", None),
    "cfg_samples": ("1.6", "samples", None),
    "sdedit": ("1.7", "edits", None),
    "sdedit_web_drawn": ("1.7.1", "edits", None),
    "inpainting": ("1.7.2", "inpaint", None),
    "text_sdedit": ("1.7.3", "edits", None),
    "anagram": ("1.8", "anagram", None),
    "hybrid": ("1.9", "hybrid", None),
    "view": ("views", "illusion", None),
}

# Part B's models (diffusionlab.rule_params.MODELS) by the section that trains them.
PART_B_SECTIONS = {"denoiser": "1.2.1", "time": "2.1", "class": "2.4"}


@dataclass(frozen=True)
class PartAFigure:
    section: str  # section key of the catalogue
    kind: str  # caption kind
    job: str  # figure name whose job settings the caption shows


def part_a_figure(stem: str) -> PartAFigure:
    """"anagram_2" -> section 1.8, caption "anagram", job "anagram_2"; "blur" -> 1.2, "blur",
    job "denoising" (the job that makes blur.png and one_step.png)."""
    kind, _, k = stem.rpartition("_")
    name, number = (kind, f"_{k}") if k.isdigit() else (stem, "")
    if name not in PART_A_FIGURES:
        raise KeyError(f"{stem!r} is not a part A figure; known: {', '.join(PART_A_FIGURES)}")
    section, caption, job = PART_A_FIGURES[name]
    return PartAFigure(section, caption, (job or name) + number)


def section_title(part: str, key: str) -> str:
    """"B", "1.2" -> "1.2 Noising digits"; unnumbered sections by their title alone."""
    spec = part_spec(part).section(key)
    return f"{spec.label} {spec.title}" if spec.label else spec.title


def category(part: str, backend: str | None = None) -> str:
    """"A", "mnist" -> "Part A · MNIST class-conditioned UNet"; "B" -> "Part B"."""
    name = part_spec(part).short
    return f"{name} · {backend_name(backend)}" if backend else name
