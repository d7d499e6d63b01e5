"""A complete site from synthetic figures, to preview the templates without running anything.

`python -m diffusionlab.site demo OUT` builds it; the tests use it to check every template,
caption kind and stylesheet rule in a real browser. Figures are drawn with Pillow in a
fraction of a second: digit grids (pixel art), loss curves, a sampling animation, metric
tables and Snakemake benchmark files.
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from .manifest import Figure, Manifest, PartResult, SectionResult, Table
from .provenance import Provenance

TILE = 28
PAD = 2

PART_A_VALUES = {  # the settings a part A run on the MNIST backend would pass
    "prompts": ["a handwritten 0", "a handwritten 4", "a handwritten 7"],
    "num_inference_steps": [5, 20, 100],
    "noise_levels": [250, 500, 750],
    "blur": {"kernel_size": 5, "sigma": 1.0},
    "prompt": "",
    "i_start": 10,
    "stride": 30,
    "show_every": 5,
    "num_samples": 5,
    "guidance": 5.0,
    "i_starts": [1, 3, 5, 7, 10, 20],
    "box": [0.1, 0.3, 0.6, 0.75],
    "views": ["identity", "flip"],
    "kernel_sizes": [33],
    "sigmas": [2.0],
}
EVAL_VALUES = {
    "epochs": [1, 5],
    "digits": 1000,
    "sigmas": [0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0],
    "methods": ["ddpm", "ddim"],
    "steps": [300, 50, 20],
    "spacing": "trailing",
    "num_samples": 1000,
    "scales": [0, 1, 5],
    "samples_per_digit": 100,
    "method": "ddpm",
    "num_steps": 300,
}
PART_B_VALUES = {
    "digits": 5,
    "sigmas": [0.0, 0.2, 0.4, 0.5, 0.6, 0.8, 1.0],
    "sigma": 0.5,
    "num_steps": 300,
    "beta_start": 1e-4,
    "beta_end": 0.02,
    "variance": "beta",
    "every": 10,
}


def digit_grid(path: Path, rows: int, cols: int, seed: int, noise: float = 0.0) -> Path:
    """White digits on black, TILE pixels each with PAD pixels between them."""
    rng = random.Random(seed)
    width, height = cols * (TILE + PAD) + PAD, rows * (TILE + PAD) + PAD
    image = Image.new("L", (width, height), 40)
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=22)
    for r in range(rows):
        for c in range(cols):
            x0, y0 = PAD + c * (TILE + PAD), PAD + r * (TILE + PAD)
            draw.rectangle([x0, y0, x0 + TILE - 1, y0 + TILE - 1], fill=0)
            draw.text((x0 + TILE / 2, y0 + TILE / 2), str(rng.randrange(10)), 255, font, "mm")
    if noise:
        pixels = image.load()
        for y in range(height):
            for x in range(width):
                value = pixels[x, y] + rng.gauss(0, 255 * noise)
                pixels[x, y] = int(min(255, max(0, value)))
    image.save(path)
    return path


def loss_curve(path: Path, seed: int, steps: int = 400) -> Path:
    """A falling, noisy curve on a plain chart, drawn like a training loss plot."""
    rng = random.Random(seed)
    width, height, margin = 720, 360, 48
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.line(
        [(margin, margin / 2), (margin, height - margin), (width - 16, height - margin)],
        fill="#444",
        width=2,
    )
    points = []
    for i in range(steps):
        value = 0.02 + 0.9 / (1 + i / 12) + rng.gauss(0, 0.01)
        x = margin + (width - margin - 24) * i / (steps - 1)
        y = height - margin - (height - 1.5 * margin) * min(1.0, value)
        points.append((x, y))
    draw.line(points, fill="#2f5d8a", width=2)
    draw.text((width / 2, height - margin / 2), "training step", "#444", anchor="mm")
    image.save(path)
    return path


def animation(path: Path, seed: int, frames: int = 4) -> Path:
    pictures = []
    for i in range(frames):
        frame = digit_grid(path.with_suffix(f".{i}.png"), 2, 5, seed, noise=0.5 * (1 - i / frames))
        pictures.append(Image.open(frame).convert("P"))
        frame.unlink()
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=200, loop=0)
    return path


def demo(folder: str | Path) -> tuple[Manifest, Provenance]:
    """Write synthetic results into `folder`; return the manifest and provenance to render."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1000))

    def grid(name: str, rows: int = 2, cols: int = 6, noise: float = 0.0) -> Path:
        return digit_grid(folder / f"{name}.png", rows, cols, next(counter), noise)

    illusions = _csv(
        folder / "illusions.csv",
        "item,digits,views,samples,alignment,concealment,success_rate",
        [
            ("anagram_0", "6 / 9", "identity / rotate_180", 500, 0.61, 0.32, 0.58),
            ("anagram_1", "1 / 7", "identity / rotate_180", 500, 0.44, -0.05, 0.31),
            ("hybrid_0", "0 / 1", "lowpass / identity", 500, 0.52, 0.12, 0.47),
        ],
    )
    part_a = {
        "0": SectionResult(
            figures=[
                Figure(
                    grid(f"a0_steps{n}", 1, 3), kind="samples", values={"num_inference_steps": n}
                )
                for n in (5, 20)
            ]
        ),
        "1.1": SectionResult(figures=[Figure(grid("a11", 1, 4, 0.3), kind="forward")]),
        "1.2": SectionResult(figures=[Figure(grid("a12", 2, 3, 0.2), kind="blur")]),
        "1.3": SectionResult(figures=[Figure(grid("a13", 2, 3, 0.1), kind="one_step")]),
        "1.4": SectionResult(
            figures=[
                Figure(grid("a14_steps", 1, 7, 0.1), kind="steps"),
                Figure(grid("a14_compare", 1, 4), kind="compare"),
            ]
        ),
        "1.5": SectionResult(figures=[Figure(grid("a15", 1, 5), kind="samples")]),
        "1.6": SectionResult(figures=[Figure(grid("a16", 1, 5), kind="samples")]),
        "1.7": SectionResult(
            figures=[
                Figure(grid("a17", 1, 7), kind="edits"),
                Figure(loss_curve(folder / "a17_metrics.png", 9), kind="sdedit_metrics"),
            ],
            tables=[Table(_sdedit_table(folder / "sdedit.csv"), kind="sdedit_table")],
            values={"digits": 500},
        ),
        "1.7.1": SectionResult(figures=[Figure(grid("a171", 1, 7), kind="edits")]),
        "1.7.2": SectionResult(figures=[Figure(grid("a172", 1, 3), kind="inpaint")]),
        "1.7.3": SectionResult(
            figures=[Figure(grid("a173", 1, 7), kind="edits", values={"prompt": "a handwritten 8"})]
        ),
        "1.8": SectionResult(
            figures=[
                Figure(grid(f"a18_{k}", 1, 2), kind="anagram", values={"item": f"anagram_{k}"})
                for k in range(2)
            ],
            tables=[
                Table(illusions, kind="illusions", where={"item": ["anagram_0", "anagram_1"]},
                      columns=["item", "digits", "samples", "success_rate"],
                      labels={"item": "figure", "success_rate": "success rate"}),
            ],
            values={"samples": 500},
        ),
        "1.9": SectionResult(
            figures=[Figure(grid("a19", 1, 2), kind="hybrid", values={"item": "hybrid_0"})],
            tables=[
                Table(illusions, kind="illusions", where={"item": ["hybrid_0"]}, max_rows=1,
                      labels={"item": "figure", "success_rate": "success rate"}),
            ],
            values={"samples": 500},
        ),
        "views": SectionResult(not_run="No views beyond the course's flip were configured."),
    }
    time = {
        "batch_size": 128,
        "epochs": 20,
        "hidden": 64,
        "lr": 1e-3,
        "lr_schedule": "decayed exponentially by a factor 0.1 over training",
    }
    def ddpm_figures(prefix: str, loss_seed: int, animation_seed: int) -> list[Figure]:
        """A DDPM section's loss curve, samples after epochs 5 and 20, and an animation."""
        return [
            Figure(loss_curve(folder / f"{prefix}_loss.png", loss_seed), kind="loss"),
            *(
                Figure(grid(f"{prefix}_e{e}", 4, 10), kind="samples", values={"epoch": e})
                for e in (5, 20)
            ),
            Figure(
                animation(folder / f"{prefix}_anim.gif", animation_seed),
                kind="animation",
                values={"epoch": 20},
            ),
        ]

    part_b = {
        "1.2": SectionResult(figures=[Figure(grid("b12", 5, 7, 0.25), kind="noising")]),
        "1.2.1": SectionResult(
            figures=[
                Figure(loss_curve(folder / "b121_loss.png", 1), kind="loss"),
                *(
                    Figure(grid(f"b121_e{e}", 3, 5), kind="results", values={"epoch": e})
                    for e in (1, 5)
                ),
            ],
            values={"batch_size": 256, "epochs": 5, "hidden": 128, "lr": 1e-4},
        ),
        "1.2.2": SectionResult(
            figures=[Figure(grid("b122", 2, 7, 0.15), kind="ood")],
            tables=[
                Table(_ood_table(folder / "b122_mse.csv"), kind="ood_table", labels={"mse": "MSE"})
            ],
        ),
        "2.1": SectionResult(
            figures=ddpm_figures("b21", 2, 3),
            values={**time, "num_samples": 40},
            notes=["Final training loss {final_loss:.4f} after {epochs} epochs."],
        ),
        "2.4": SectionResult(
            figures=ddpm_figures("b24", 4, 5),
            values={**time, "p_uncond": 0.1, "guidance": 5, "samples_per_class": 4},
        ),
    }
    evaluation = _evaluation(folder)
    manifest = Manifest(
        title="Fun with Diffusion Models",
        subtitle="A preview built from synthetic figures",
        values={"seed": 180},
        parts=[
            PartResult(
                "A",
                backend="DeepFloyd IF",
                not_run="The DeepFloyd backend was not run: no GPU and no access to the gated "
                "model weights on this machine.",
            ),
            PartResult("A", part_a, backend="MNIST class-conditioned UNet", values=PART_A_VALUES),
            PartResult("B", part_b, values={**PART_B_VALUES, "final_loss": 0.0291}),
            PartResult("eval", evaluation, values=EVAL_VALUES),
        ],
    )
    benchmarks = []
    for rule, seconds, rss in (("train_time", 912.4, 1843.2), ("noising_figure", 3.1, 402.5)):
        path = folder / f"{rule}.tsv"
        path.write_text(
            "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
            f"{seconds}\t0:00:00\t{rss}\t{rss * 2}\t{rss}\t{rss}\t0.1\t0.2\t95.0\t{seconds * 2}\n"
        )
        benchmarks.append(path)
    provenance = Provenance(
        config={"seed": 180, "device": "auto", "data": {"source": "embedded"}},
        data_meta={"source": "embedded", "train_digits": 4000, "test_digits": 1000},
        device={"device": "cpu", "cpu_threads": 2},
        benchmarks=benchmarks,
    )
    return manifest, provenance


def _csv(path: Path, header: str, rows) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header.split(","))
        writer.writerows(rows)
    return path


def _evaluation(folder: Path) -> dict[str, SectionResult]:
    sigmas = PART_B_VALUES["sigmas"]
    methods = ("noisy input", "Wiener filter", "UNet, epoch 5")
    denoising = _csv(
        folder / "denoising.csv",
        "sigma,method,mse,psnr",
        [(s, m, 0.01 * (i + 1) * s, 20 - 5 * s) for s in sigmas for i, m in enumerate(methods)],
    )
    steps = {}
    for model, guided in (("time-conditioned", False), ("class-conditioned", True)):
        quality = _csv(
            folder / f"steps_{model}.csv",
            "method,steps,samples,frechet_distance,floor",
            [(m, n, 1000, 1.5 + 30 / n, 1.2) for m in ("ddpm", "ddim") for n in (300, 50, 20)],
        )
        values = {"model_name": model, "guidance": 5}
        steps[model] = (
            Figure(
                loss_curve(folder / f"steps_{model}.png", 7),
                kind="figure_guided" if guided else "figure",
                values=values,
            ),
            Table(quality, kind="quality", values=values, labels={"frechet_distance": "FD"}),
        )
    guidance = _csv(
        folder / "guidance.csv",
        "guidance,digit,samples,accuracy,mean_probability",
        [
            (g, d, 100, min(1.0, 0.6 + 0.08 * g), 0.5 + 0.09 * g)
            for g in (0, 1, 5)
            for d in range(10)
        ],
    )
    scores = _csv(
        folder / "illusion_scores.csv",
        "item,sample,view,target,p_target,p_other,predicted,correct",
        [("anagram_0", n, v, t, 0.7, 0.1, t, True) for n in range(5) for v, t in
         (("identity", 6), ("flip", 9))],
    )
    checkpoints = [
        _csv(
            folder / f"checkpoints_{model}.csv",
            "epoch,samples,frechet_distance,floor,ratio",
            [(e, 1000, 1.2 + 8 / e, 1.2, 1 + 8 / (1.2 * e)) for e in (5, 20)],
        )
        for model in ("time", "class")
    ]
    targets = _csv(
        folder / "targets.csv",
        "metric,target,reached,met",
        [("classifier: test accuracy", "≥ 0.99", 0.9912, "yes"),
         ("time-conditioned UNet: mean training loss of the last epoch (epoch 20)",
          "0.02 – 0.04", 0.0291, "yes"),
         ("anagram 6 / 9 (turned upside down): every view read as its digit", "≥ 0.8", 0.62, "no")],
    )
    note = "The classifier reads {test_accuracy:.2%} of the {test_digits} test digits correctly."
    return {
        "classifier": SectionResult(
            notes=[note], values={"test_accuracy": 0.9912, "test_digits": 1000}
        ),
        "denoising": SectionResult(
            figures=[Figure(loss_curve(folder / "denoising.png", 6), kind="figure")],
            tables=[Table(denoising, kind="table", labels={"psnr": "PSNR (dB)"})],
        ),
        "checkpoints": SectionResult(
            tables=[Table(path, kind=f"table_{model}") for path, model in
                    zip(checkpoints, ("time", "class"), strict=True)],
            values={"num_samples": 1000, "num_steps": 300, "guidance": 5},
        ),
        "steps": SectionResult(
            figures=[figure for figure, _ in steps.values()],
            tables=[table for _, table in steps.values()],
        ),
        "guidance": SectionResult(
            figures=[Figure(loss_curve(folder / "guidance.png", 8), kind="figure")],
            tables=[Table(guidance, kind="table")],
        ),
        "part_a": SectionResult(
            figures=[Figure(loss_curve(folder / "illusions.png", 10), kind="figure")],
            tables=[Table(scores, kind="scores", max_rows=6)],
            values={"samples": 500},
        ),
        "targets": SectionResult(
            tables=[Table(targets, kind="table")], values={"train_digits": 60000}
        ),
    }


def _sdedit_table(path: Path) -> Path:
    rows = [(i, 297 - 9 * i, 500, min(1.0, 0.1 + 0.05 * i), 0.08 + 0.045 * i) for i in (1, 5, 10)]
    return _csv(path, "i_start,t,edits,kept_class,p_source", rows)


def _ood_table(path: Path) -> Path:
    rows = [
        (s, round(0.004 + 0.05 * max(0.0, s - 0.5) ** 1.5 + 0.01 * s, 5))
        for s in PART_B_VALUES["sigmas"]
    ]
    path.write_text("sigma,mse\n" + "".join(f"{s},{m}\n" for s, m in rows))
    return path
