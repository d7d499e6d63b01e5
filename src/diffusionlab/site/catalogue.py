"""The parts and sections of the exercise, in reading order.

The catalogue fixes what a reader finds where: each part is one page of the site, each section
has the course's number, a title, the equations it shows and a prose template
(`templates/sections/<part slug>/<section key>.html.j2`). The manifest only says what a run
produced for each section, so the structure of the write-up cannot drift between runs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SectionSpec:
    key: str  # the manifest's name for the section, also its number where it has one
    title: str
    equations: tuple[str, ...] = ()
    number: str | None = None  # shown before the title; defaults to the key, "" for none

    @property
    def label(self) -> str:
        return self.key if self.number is None else self.number

    @property
    def anchor(self) -> str:
        return "s-" + "".join(c if c.isalnum() else "-" for c in self.key)


@dataclass(frozen=True)
class PartSpec:
    key: str  # the manifest's name for the part
    slug: str  # page file name and template folder
    short: str  # name in the navigation bar
    title: str
    sections: tuple[SectionSpec, ...]

    def section(self, key: str) -> SectionSpec:
        for spec in self.sections:
            if spec.key == key:
                return spec
        known = ", ".join(s.key for s in self.sections)
        raise KeyError(f"part {self.key} has no section {key!r}; known: {known}")


PARTS: tuple[PartSpec, ...] = (
    PartSpec(
        "A",
        "part-a",
        "Part A",
        "Part A: playing with a pretrained diffusion model",
        (
            SectionSpec("0", "Sampling from the model"),
            SectionSpec("1.1", "The forward process", ("forward",)),
            SectionSpec("1.2", "Classical denoising"),
            SectionSpec("1.3", "One-step denoising", ("one_step",)),
            SectionSpec("1.4", "Iterative denoising", ("iterative",)),
            SectionSpec("1.5", "Sampling from pure noise"),
            SectionSpec("1.6", "Classifier-free guidance", ("cfg",)),
            SectionSpec("1.7", "Image-to-image translation (SDEdit)"),
            SectionSpec("1.7.1", "Editing web and hand-drawn images"),
            SectionSpec("1.7.2", "Inpainting", ("inpainting",)),
            SectionSpec("1.7.3", "Text-conditioned image-to-image translation"),
            SectionSpec("1.8", "Visual anagrams", ("anagram",)),
            SectionSpec("1.9", "Hybrid images", ("hybrid",)),
            SectionSpec("views", "Beyond the course: more views", ("views",), number="1.10"),
        ),
    ),
    PartSpec(
        "B",
        "part-b",
        "Part B",
        "Part B: diffusion models from scratch on MNIST",
        (
            SectionSpec("1.2", "Noising digits", ("noising",)),
            SectionSpec("1.2.1", "A one-step denoiser", ("denoiser_loss",)),
            SectionSpec("1.2.2", "Out-of-distribution noise levels"),
            SectionSpec(
                "2.1",
                "A time-conditioned DDPM",
                ("ddpm_loss", "ddpm_step", "ddpm_variance"),
                number="2.1–2.3",
            ),
            SectionSpec(
                "2.4",
                "A class-conditioned DDPM with guidance",
                ("class_loss", "class_cfg"),
                number="2.4–2.5",
            ),
        ),
    ),
    PartSpec(
        "eval",
        "evaluation",
        "Evaluation",
        "Evaluation",
        (
            SectionSpec("classifier", "The judge: a digit classifier", number="E.1"),
            SectionSpec("denoising", "One-step denoising against baselines", number="E.2"),
            SectionSpec("checkpoints", "Sample quality over training", number="E.3"),
            SectionSpec("steps", "Sampling in fewer steps", number="E.4"),
            SectionSpec("guidance", "Guidance and class accuracy", number="E.5"),
            SectionSpec("part_a", "Part A's illusions read by the classifier", number="E.6"),
            SectionSpec("targets", "Targets, and what this run reached", number="E.7"),
        ),
    ),
    # One page per data set of deep_dive.run (the data set as the part's backend).
    PartSpec(
        "deep",
        "deep-dive",
        "Deep dive",
        "Deep dive: the same diffusion on other images",
        (
            SectionSpec("data", "The data set", number="D.1"),
            SectionSpec("training", "Training", number="D.2"),
            SectionSpec("samples", "Samples over training", number="D.3"),
            SectionSpec("sampling", "Summary and detailed sampling", number="D.4"),
            SectionSpec("fidelity", "Fidelity: the judge's Fréchet distance and the FID",
                        number="D.5"),
            SectionSpec("memorisation", "Memorisation: new images or copies?", number="D.6"),
            SectionSpec("latent", "Pixel versus latent", number="D.7"),
        ),
    ),
)


def part_spec(key: str) -> PartSpec:
    for spec in PARTS:
        if spec.key == key:
            return spec
    raise KeyError(f"no part {key!r}; known: {', '.join(p.key for p in PARTS)}")
