"""The evaluation's targets, and what a run reached.

The targets are set for the reference settings trained on all 60,000 training digits: the
classifier reads >= 99% of the test digits right; the class-conditioned UNet's guided samples
after its last epoch are read as the requested digit >= 99% of the time and lie within 5x
the floor in Frechet distance; both views of an upside-down anagram are read as their digits
in >= 80% of samples. The course's sanity figures for the time-conditioned UNet's training
loss stand beside them: below 0.1 within the first few hundred steps (here: its mean over the
last 50 steps, as a plotted curve is read, by step 500), and a mean of 0.02-0.04 over the last
of 20 epochs. A run on fewer digits or narrower
networks is not expected to meet them all; the table says what it reached, so runs can be
compared.
"""

from __future__ import annotations

import operator

import pandas as pd

CLASSIFIER_ACCURACY = 0.99
GUIDED_ACCURACY = 0.99
FRECHET_RATIO = 5.0
ANAGRAM_SUCCESS = 0.80
EARLY_LOSS, EARLY_STEPS, EARLY_WINDOW = 0.1, 500, 50
FINAL_LOSS_RANGE = (0.02, 0.04)
FLIP_VIEWS = "identity / flip"  # the views column of the illusions table for 1.8's anagrams
COLUMNS = ["metric", "target", "reached", "met"]


def _row(metric: str, reached: float, bound: float, at_least: bool = True) -> dict:
    compare, sign = (operator.ge, "≥") if at_least else (operator.le, "≤")
    return {"metric": metric, "target": f"{sign} {bound:g}", "reached": float(reached),
            "met": "yes" if compare(reached, bound) else "no"}


def loss_rows(losses: pd.DataFrame) -> list[dict]:
    """The time-conditioned UNet's loss against the course's figures, from its per-step losses
    (columns epoch, step within the epoch, loss). Steps count from 0 over the whole run; a loss
    that never falls below the bound reaches nothing (shown as a dash). One batch's loss is
    noisy: the early row smooths it over a window of steps, which a shorter run never fills."""
    smooth = losses["loss"].rolling(EARLY_WINDOW).mean()
    below = (smooth < EARLY_LOSS).to_numpy().nonzero()[0]
    first = float(below[0]) if len(below) else float("nan")
    last_epoch = int(losses["epoch"].max())
    final = float(losses.loc[losses["epoch"] == last_epoch, "loss"].mean())
    lo, hi = FINAL_LOSS_RANGE
    model = "time-conditioned UNet"
    return [
        _row(f"{model}: first training step whose last {EARLY_WINDOW} losses average "
             f"< {EARLY_LOSS:g}", first, EARLY_STEPS, at_least=False),
        {"metric": f"{model}: mean training loss of the last epoch (epoch {last_epoch})",
         "target": f"{lo:g} – {hi:g}", "reached": final,
         "met": "yes" if lo <= final <= hi else "no"},
    ]


def targets_table(
    classifier_accuracy: float,
    time_losses: pd.DataFrame,
    class_quality: pd.DataFrame,
    guidance: float,
    illusions: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per target: metric, target (bound), reached (value of this run), met (yes/no).

    time_losses: the time-conditioned UNet's losses.csv (see loss_rows); class_quality: the
    class-conditioned UNet's sample quality by epoch
    (sample_quality.checkpoint_quality); illusions: part A's illusion table on the MNIST
    backend (part_a_jobs.illusion_tables), None when part A did not run on it.
    """
    last = class_quality.loc[class_quality["epoch"].idxmax()]
    samples = f"class-conditioned samples (γ = {guidance:g}, epoch {int(last['epoch'])})"
    rows = [
        _row("classifier: test accuracy", classifier_accuracy, CLASSIFIER_ACCURACY),
        *loss_rows(time_losses),
        _row(f"{samples}: read as the requested digit", last["class_accuracy"],
             GUIDED_ACCURACY),
        _row(f"{samples}: Fréchet distance / floor", last["ratio"], FRECHET_RATIO,
             at_least=False),
    ]
    if illusions is not None:
        flips = illusions[(illusions["kind"] == "anagram") & (illusions["views"] == FLIP_VIEWS)]
        rows += [
            _row(f"anagram {item.digits} (upside down): every view read as its digit",
                 item.success_rate, ANAGRAM_SUCCESS)
            for item in flips.itertuples()
        ]
    return pd.DataFrame(rows, columns=COLUMNS)
